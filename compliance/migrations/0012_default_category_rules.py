"""Install the default product-category rules for HK, GB and DE (compliance.defaults.CATEGORY_RULES).

Officers change them afterwards in the admin (new versions, audited); this only fills an empty table.
"""

from django.db import migrations


def install(apps, schema_editor):
    from compliance.services.rules import category_rules_install_defaults

    category_rules_install_defaults(apps.get_model("compliance", "CategoryRule"))


def uninstall(apps, schema_editor):
    from compliance import defaults

    model = apps.get_model("compliance", "CategoryRule")
    for row in defaults.CATEGORY_RULES:
        model.objects.filter(jurisdiction=row["jurisdiction"], category=row["category"],
                             investor_class=row["investor_class"], created_by__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0011_category_rules")]

    operations = [migrations.RunPython(install, uninstall)]
