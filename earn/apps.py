from django.apps import AppConfig


class EarnConfig(AppConfig):
    name = "earn"

    def ready(self) -> None:
        from core.refusals import register
        from earn.refusals import REFUSALS

        register(REFUSALS)
        from earn import reconcile

        reconcile.register()
