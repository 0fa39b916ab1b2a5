from django.db import migrations, models


class Migration(migrations.Migration):
    """Accrual chunks bound customer ids from now on (one credit per customer account and day); chunks
    planned before keep bounding position ids and are worked as they were planned."""

    dependencies = [("earn", "0004_accrual_chunks")]

    operations = [
        migrations.AddField(
            model_name="accrualchunk",
            name="unit",
            field=models.CharField(
                choices=[("customer", "Customer ids"), ("position", "Position ids")], default="position",
                help_text="what lo and hi bound: customer ids (every position of a customer in one chunk, so one "
                          "credit per customer account and day), or position ids (chunks planned by older releases)",
                max_length=8),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="accrualchunk",
            name="unit",
            field=models.CharField(
                choices=[("customer", "Customer ids"), ("position", "Position ids")], default="customer",
                help_text="what lo and hi bound: customer ids (every position of a customer in one chunk, so one "
                          "credit per customer account and day), or position ids (chunks planned by older releases)",
                max_length=8),
        ),
        migrations.AlterField(
            model_name="accrualchunk", name="lo", field=models.BigIntegerField(help_text="first id of the range"),
        ),
        migrations.AlterField(
            model_name="accrualchunk", name="hi", field=models.BigIntegerField(help_text="last id of the range"),
        ),
    ]
