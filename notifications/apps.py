from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from compliance.signals import disclosure_published
        from notifications.disclosure_notices import disclosure_published_receiver

        disclosure_published.connect(disclosure_published_receiver, dispatch_uid="notifications.disclosure_published")
