from django.apps import AppConfig


class LiabilitiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "liabilities"
    verbose_name = "Proof of liabilities"
