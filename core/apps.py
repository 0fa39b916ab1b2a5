from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"

    def ready(self) -> None:
        from core import refusals

        refusals.register(refusals.CORE_REFUSALS)
        from core.audit_retention import TABLE, audit_month_anchor, audit_month_guard
        from core.partitions import register_detach_hook, register_retention_guard

        register_retention_guard(TABLE, audit_month_guard)
        register_detach_hook(TABLE, audit_month_anchor)
