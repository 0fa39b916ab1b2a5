"""KYC facts on the user (verified residence, status, who decided), residence change requests, KYC provider events.

Existing users are marked verified (`kyc_source = "onboarding"`, verified at the time of this migration,
declared country = their country): they were onboarded before KYC status was recorded, when the country on
file was the residence the service acted on. New sign-ups start unverified and the gate refuses them
(KYC_REQUIRED) until a compliance officer or the KYC provider verifies them.
"""

import accounts.models
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import F
from django.utils import timezone


def mark_existing_users_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.update(kyc_status="verified", kyc_verified_at=timezone.now(), kyc_source="onboarding",
                        declared_country=F("country"))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_tokens'),
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.CreateModel(
            name='KycWebhookEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_id', models.CharField(max_length=100, unique=True)),
                ('status', models.CharField(choices=[('unverified', 'Unverified'), ('verified', 'Verified'), ('rejected', 'Rejected')], max_length=10)),
                ('payload', models.JSONField()),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'verbose_name': 'KYC provider event',
                'ordering': ['-received_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ResidenceChangeRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('current_country', models.CharField(max_length=2, verbose_name='current country')),
                ('requested_country', models.CharField(blank=True, help_text='Empty: the residence stays as it is', max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'ISO 3166 alpha-2 code')], verbose_name='requested country')),
                ('current_investor_class', models.CharField(choices=[('retail', 'Retail'), ('professional', 'Professional')], max_length=12, verbose_name='current investor class')),
                ('requested_investor_class', models.CharField(blank=True, choices=[('retail', 'Retail'), ('professional', 'Professional')], help_text='Empty: the investor class stays as it is', max_length=12, verbose_name='requested investor class')),
                ('reason', models.TextField(max_length=2000, verbose_name='reason')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='pending', max_length=10, verbose_name='status')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='requested at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.TextField(blank=True, max_length=2000, verbose_name='decision note')),
            ],
            options={
                'verbose_name': 'residence change request',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='KycCustomer',
            fields=[
            ],
            options={
                'verbose_name': 'customer KYC',
                'verbose_name_plural': 'customer KYC',
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('accounts.user',),
            managers=[
                ('objects', accounts.models.UserManager()),
            ],
        ),
        migrations.AddField(
            model_name='user',
            name='declared_country',
            field=models.CharField(blank=True, db_default='', default='', help_text='Country of residence the customer declared at sign-up', max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'ISO 3166 alpha-2 code')], verbose_name='declared country'),
        ),
        migrations.AddField(
            model_name='user',
            name='kyc_source',
            field=models.CharField(blank=True, db_default='', default='', help_text='staff, provider, or onboarding (customers before KYC records)', max_length=40, verbose_name='KYC source'),
        ),
        migrations.AddField(
            model_name='user',
            name='kyc_status',
            field=models.CharField(choices=[('unverified', 'Unverified'), ('verified', 'Verified'), ('rejected', 'Rejected')], db_default='unverified', default='unverified', max_length=10, verbose_name='KYC status'),
        ),
        migrations.AddField(
            model_name='user',
            name='kyc_verified_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='KYC decided at'),
        ),
        migrations.AddField(
            model_name='user',
            name='kyc_verified_by',
            field=models.ForeignKey(blank=True, help_text='Compliance officer; empty when the KYC provider decided', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='KYC decided by'),
        ),
        migrations.AlterField(
            model_name='user',
            name='country',
            field=models.CharField(help_text='Verified country of residence, ISO 3166-1 alpha-2, upper case (written by compliance only)', max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'ISO 3166 alpha-2 code')], verbose_name='country'),
        ),
        migrations.RunPython(mark_existing_users_verified, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=models.Q(('declared_country', ''), ('declared_country__regex', '^[A-Z]{2}$'), _connector='OR'), name='user_declared_country_iso2'),
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=models.Q(('kyc_status__in', ['unverified', 'verified', 'rejected'])), name='user_kyc_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(condition=models.Q(('kyc_status', 'unverified'), ('kyc_verified_at__isnull', False), _connector='OR'), name='user_kyc_decided_has_time'),
        ),
        migrations.AddField(
            model_name='kycwebhookevent',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='residencechangerequest',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by'),
        ),
        migrations.AddField(
            model_name='residencechangerequest',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='residence_requests', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='residencechangerequest',
            index=models.Index(fields=['status', 'created_at'], name='residencerequest_status_idx'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('user',), name='residencerequest_one_pending_per_user'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.CheckConstraint(condition=models.Q(('requested_country', ''), ('requested_country__regex', '^[A-Z]{2}$'), _connector='OR'), name='residencerequest_country_iso2'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.CheckConstraint(condition=models.Q(('requested_country', ''), ('requested_investor_class', ''), _negated=True), name='residencerequest_asks_something'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'approved', 'rejected'])), name='residencerequest_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('status', 'pending')), models.Q(models.Q(('status', 'pending'), _negated=True), ('decided_at__isnull', False)), _connector='OR'), name='residencerequest_decided_iff_not_pending'),
        ),
        migrations.AddConstraint(
            model_name='residencechangerequest',
            constraint=models.CheckConstraint(condition=models.Q(('decided_by', models.F('user')), _negated=True), name='residencerequest_requester_not_decider'),
        ),
    ]
