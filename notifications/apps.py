from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from earn import signals
        from notifications import events

        # earn announces; notifications listens (earn never imports this app).
        def on_subscription(sender: Any, subscription: Any, **kwargs: Any) -> None:
            events.subscription_confirmed(subscription)

        def on_redemption(sender: Any, redemption: Any, **kwargs: Any) -> None:
            events.redemption_confirmed(redemption)

        def on_refusal(sender: Any, refusal: Any, **kwargs: Any) -> None:
            events.refusal_recorded(refusal)

        signals.subscription_confirmed.connect(on_subscription, weak=False, dispatch_uid="notify_subscription")
        signals.redemption_confirmed.connect(on_redemption, weak=False, dispatch_uid="notify_redemption")
        signals.refusal_recorded.connect(on_refusal, weak=False, dispatch_uid="notify_refusal")

        from notifications.launch_notices import launch_settled_receiver

        signals.launch_settled.connect(launch_settled_receiver, weak=False, dispatch_uid="notify_launch_settled")

        from compliance.signals import disclosure_published
        from notifications.disclosure_notices import disclosure_published_receiver

        disclosure_published.connect(disclosure_published_receiver, dispatch_uid="notifications.disclosure_published")
