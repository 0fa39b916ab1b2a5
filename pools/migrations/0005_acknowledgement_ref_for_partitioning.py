"""Pool deposits stop referencing compliance_acknowledgement by a foreign key: compliance 0013 partitions
acknowledgements by month and points this column at the key table compliance_acknowledgementkey instead."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("compliance", "0012_default_category_rules"),
        ("pools", "0004_il_alerts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="pooldeposit",
            name="acknowledgement",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="compliance.acknowledgement"),
        ),
    ]
