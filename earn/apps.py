from django.apps import AppConfig


class EarnConfig(AppConfig):
    name = "earn"

    def ready(self) -> None:
        from earn import reconcile

        reconcile.register()
