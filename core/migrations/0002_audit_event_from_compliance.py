"""The audit trail moves to core in Django's state only: the table (compliance_auditevent), its rows,
indexes, sequence and append-only trigger stay exactly where they are (compliance 0007 is the other half)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("compliance", "0006_default_rules_and_questions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("sequence", models.BigAutoField(primary_key=True, serialize=False)),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("action", models.CharField(db_index=True, max_length=64)),
                        ("object_type", models.CharField(max_length=64)),
                        ("object_id", models.CharField(max_length=64)),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                        ("actor", models.ForeignKey(blank=True, null=True,
                                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                    to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "compliance_auditevent",
                        "ordering": ["sequence"],
                        "indexes": [models.Index(fields=["object_type", "object_id"], name="auditevent_object_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
