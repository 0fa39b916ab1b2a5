"""A new disclosure version approved: every holder of the product is told, with a link to the redline.

Idempotent by the notification key `disclosure:<id>` (the hourly sweep uses the same key for customers
who acknowledged an earlier version), so a re-run, a redelivered task or the sweep never notify twice.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.urls import reverse

from compliance.models import Disclosure, DisclosureStatus
from earn.models import Position, PositionStatus
from notifications.events import _names
from notifications.models import NotificationKind
from notifications.services import after_commit, notification_send


def disclosure_changes_link(product_id: int) -> str:
    return reverse("portal:disclosure_changes", args=[product_id])


def disclosure_holders(product_id: int) -> list[int]:
    """Users holding an active position (earn, or pool when pools is installed) in the product, in id order.

    Pool positions are read through the app registry: pools sits above notifications and is not imported."""
    users = set(Position.objects.filter(product_id=product_id, status=PositionStatus.ACTIVE)
                .values_list("user_id", flat=True))
    if apps.is_installed("pools"):
        pool_position = apps.get_model("pools", "PoolPosition")
        users |= set(pool_position.objects.filter(product_id=product_id, status="active")
                     .values_list("user_id", flat=True))
    return sorted(users)


def disclosure_notify_holders(disclosure_id: int) -> int:
    """Notify the holders of the product of its current disclosure; returns how many were sent now."""
    disclosure = (Disclosure.objects.select_related("product")
                  .filter(pk=disclosure_id, status=DisclosureStatus.CURRENT).first())
    if disclosure is None:
        return 0  # superseded again since, or never approved: the newer version notifies
    sent = 0
    link = disclosure_changes_link(disclosure.product_id)
    for user_id in disclosure_holders(disclosure.product_id):
        if notification_send(user_id=user_id, kind=NotificationKind.DISCLOSURE_UPDATED,
                             key=f"disclosure:{disclosure.pk}", link=link,
                             params={"product": _names(disclosure.product), "version": disclosure.version}):
            sent += 1
    return sent


def disclosure_published_receiver(sender: Any, disclosure: Any, **kwargs: Any) -> None:
    """compliance.signals.disclosure_published: tell the holders once the approval commits."""
    disclosure_published_on_commit(disclosure)


def disclosure_published_on_commit(disclosure: Any) -> None:
    """After the approval commits: the holders are notified (by a worker with NOTIFICATIONS_VIA_CELERY)."""
    after_commit(f"disclosure:{disclosure.pk}", "disclosure_notify_task", {"disclosure_id": disclosure.pk},
                 disclosure_notify_holders)
