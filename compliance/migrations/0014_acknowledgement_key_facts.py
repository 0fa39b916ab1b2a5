"""The acknowledgement key table also records customer, product and disclosure, filled by PostgreSQL and backfilled.

The gate reads the latest acknowledgement there (compliance/sql/acknowledgement_key_facts.sql says why).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from compliance.sql import SQL_DIR
from core.sql import run_sql_file


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0013_partitioned_acknowledgements'),
        ('earn', '0012_acknowledgement_refs_for_partitioning'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='acknowledgementkey',
            name='disclosure',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='compliance.disclosure'),
        ),
        migrations.AddField(
            model_name='acknowledgementkey',
            name='product',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='earn.product'),
        ),
        migrations.AddField(
            model_name='acknowledgementkey',
            name='user',
            field=models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='acknowledgementkey',
            index=models.Index(fields=['user', 'product', '-accepted_at', '-id'], name='ackkey_user_product_idx'),
        ),
        run_sql_file(SQL_DIR, "acknowledgement_key_facts.sql", "acknowledgement_key_facts_reverse.sql"),
    ]
