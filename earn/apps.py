from django.apps import AppConfig


class EarnConfig(AppConfig):
    name = "earn"
