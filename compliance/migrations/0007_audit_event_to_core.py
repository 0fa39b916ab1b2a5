"""The audit trail's model leaves compliance in Django's state only (core 0002 takes it over, same table).

What stays here is a proxy of the same name, so the admin keeps /admin/compliance/auditevent/ and the
roles keep the compliance.view_auditevent permission (its content type is unchanged).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0006_default_rules_and_questions"),
        ("core", "0002_audit_event_from_compliance"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[],
            options={"ordering": ["sequence"], "proxy": True, "indexes": [], "constraints": []},
            bases=("core.auditevent",),
        ),
    ]
