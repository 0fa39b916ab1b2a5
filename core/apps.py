from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core import refusals

        refusals.register(refusals.CORE_REFUSALS)
