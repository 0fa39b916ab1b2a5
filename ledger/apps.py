from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self) -> None:
        from core.partitions import register_detach_hook, register_retention_guard
        from ledger.retention import postings_month_archive, postings_month_guard

        register_retention_guard("ledger_posting", postings_month_guard)
        register_detach_hook("ledger_posting", postings_month_archive)
