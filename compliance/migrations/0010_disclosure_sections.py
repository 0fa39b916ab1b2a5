"""Disclosures carry the sections their product's category requires, and the category they were written for.

Versions drafted before keep empty sections and an empty category (their hash did not cover sections).
"""

import django.db.models.lookups
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('compliance', '0009_blocked_attempts_key_risk_questions'),
        ('earn', '0008_product_category'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='disclosure',
            name='category',
            field=models.CharField(blank=True, default='', max_length=20, verbose_name='category'),
        ),
        migrations.AddField(
            model_name='disclosure',
            name='sections',
            field=models.JSONField(blank=True, default=dict, verbose_name='sections'),
        ),
        migrations.AddConstraint(
            model_name='disclosure',
            constraint=models.CheckConstraint(condition=django.db.models.lookups.Exact(models.Func(models.F('sections'), function='jsonb_typeof', output_field=models.CharField()), 'object'), name='disclosure_sections_object'),
        ),
        migrations.AddConstraint(
            model_name='disclosure',
            constraint=models.CheckConstraint(condition=models.Q(('category__in', ['', 'lending', 'liquidity_mining', 'staking', 'structured'])), name='disclosure_category_known'),
        ),
        migrations.AddConstraint(
            model_name='disclosure',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['draft', 'rejected']), ('category', ''), models.Q(('sections', {}), _negated=True), _connector='OR'), name='disclosure_approved_has_sections'),
        ),
    ]
