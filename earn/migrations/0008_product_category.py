"""Products get a category from their vetting data; pools are liquidity mining, the rest start as lending."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('earn', '0007_vetting_in_traditional_chinese'),
        ('ledger', '0008_launch_account_kinds'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='product',
            name='category',
            field=models.CharField(choices=[('lending', 'Lending'), ('staking', 'Staking'), ('liquidity_mining', 'Liquidity mining'), ('structured', 'Structured product')], default='lending', help_text="what is done with customers' assets; decides who may be offered it", max_length=20, verbose_name='category'),
        ),
        migrations.RunSQL(
            "UPDATE earn_product SET category = 'liquidity_mining' WHERE strategy = 'liquidity_mining'",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name='product',
            constraint=models.CheckConstraint(condition=models.Q(('category__in', ['lending', 'staking', 'liquidity_mining', 'structured'])), name='product_category_known'),
        ),
        migrations.AddConstraint(
            model_name='product',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('strategy', 'liquidity_mining'), _negated=True), ('category', 'liquidity_mining'), _connector='OR'), name='product_pool_is_liquidity_mining'),
        ),
    ]
