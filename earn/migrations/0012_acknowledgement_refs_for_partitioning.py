"""Subscriptions and launch commitments stop referencing compliance_acknowledgement by a foreign key:
compliance 0013 partitions acknowledgements by month and points these columns at the key table
compliance_acknowledgementkey instead (the database still refuses an unknown acknowledgement)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0012_default_category_rules"),
        ("earn", "0011_partitioned_accruals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="launchcommitment",
            name="acknowledgement",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="compliance.acknowledgement"),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="acknowledgement",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="compliance.acknowledgement"),
        ),
    ]
