"""The inline accrual catch-up's lease: a row, not a session advisory lock (safe behind PgBouncer)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('earn', '0008_product_category'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccrualLease',
            fields=[
                ('name', models.CharField(max_length=32, primary_key=True, serialize=False)),
                ('holder', models.UUIDField(blank=True, help_text='the run holding the lease; empty when free', null=True)),
                ('expires_at', models.DateTimeField(blank=True, help_text='the lease lapses after this', null=True)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('expires_at__isnull', True), ('holder__isnull', True)), models.Q(('expires_at__isnull', False), ('holder__isnull', False)), _connector='OR'), name='accrual_lease_holder_has_expiry')],
            },
        ),
    ]
