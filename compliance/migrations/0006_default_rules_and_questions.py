"""Install the default HK and GB rules and question banks (compliance.defaults); officers edit them later.

Uses the historical models, so it does the same as `compliance.services.rules.rules_install_defaults`.
"""

from django.db import migrations


def install(apps, schema_editor):
    from compliance import defaults

    rule_model = apps.get_model("compliance", "JurisdictionRule")
    question_model = apps.get_model("compliance", "AssessmentQuestion")
    for rule in defaults.RULES:
        rule_model.objects.get_or_create(country=rule["country"], defaults=rule)
    fields = {f.name for f in question_model._meta.get_fields()}
    for jurisdiction, bank in defaults.questions().items():
        for question in bank:
            # Only the fields this migration's model has (later migrations add and fill the others).
            question_model.objects.get_or_create(jurisdiction=jurisdiction, key=question["key"],
                                                 defaults={k: v for k, v in question.items() if k in fields})


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_assessments_profiles_complaints")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
