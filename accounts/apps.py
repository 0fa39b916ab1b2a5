from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from accounts.services import roles_sync

    roles_sync(verbosity=0)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts.refusals import REFUSALS
        from core.refusals import register

        register(REFUSALS)
        # Roles reference permissions of every app, so they are (re)built after each migrate.
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="accounts.sync_roles")
        # Role and privilege changes are audited however they are written (accounts/signals.py).
        from accounts import signals

        signals.connect()
