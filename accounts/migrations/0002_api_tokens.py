"""API tokens hashed at rest (accounts.ApiToken), replacing DRF's plaintext `authtoken` tokens.

Existing tokens are dropped, not converted: their keys were stored in plaintext and never expired,
so none can be trusted to have stayed secret. Customers create new tokens (portal "API tokens" page or
POST /api/v1/auth/token). The `authtoken_token` table, its migration records, content types and
permissions are removed, so no plaintext key stays in the database. Not reversible for those keys.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def drop_authtoken_content_types(apps, schema_editor):
    """authtoken is no longer installed: its content types (and, by cascade, permissions and grants) go."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label="authtoken").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(blank=True, max_length=100, verbose_name='name')),
                ('prefix', models.CharField(max_length=8, verbose_name='prefix')),
                ('digest', models.CharField(editable=False, max_length=64, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('expires_at', models.DateTimeField(verbose_name='expires')),
                ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'API token',
                'verbose_name_plural': 'API tokens',
                'indexes': [models.Index(fields=['user', 'expires_at'], name='apitoken_user_expiry')],
                'constraints': [models.CheckConstraint(condition=models.Q(('digest__regex', '^[0-9a-f]{64}$')), name='apitoken_digest_sha256'), models.CheckConstraint(condition=models.Q(('expires_at__gt', models.F('created_at'))), name='apitoken_expires_after_created')],
            },
        ),
        migrations.RunSQL(
            sql=["DROP TABLE IF EXISTS authtoken_token", "DELETE FROM django_migrations WHERE app = 'authtoken'"],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunPython(drop_authtoken_content_types, migrations.RunPython.noop),
    ]
