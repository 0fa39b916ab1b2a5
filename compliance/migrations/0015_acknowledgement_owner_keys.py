"""Subscriptions and launch commitments reference their acknowledgement by (id, user, product): the database
refuses one citing another customer's acknowledgement or another product's (compliance/sql/
acknowledgement_owner_keys.sql)."""

from django.db import migrations, models

from compliance.sql import SQL_DIR
from core.sql import run_sql_file


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0014_acknowledgement_key_facts'),
        ('earn', '0012_acknowledgement_refs_for_partitioning'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='acknowledgementkey',
            constraint=models.UniqueConstraint(fields=('id', 'user', 'product'), name='ackkey_id_user_product'),
        ),
        run_sql_file(SQL_DIR, "acknowledgement_owner_keys.sql", "acknowledgement_owner_keys_reverse.sql"),
    ]
