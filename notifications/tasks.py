"""Celery tasks: thin wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from notifications.services import notification_send, outbox_drain
from notifications.sweep import notifications_sweep


# Nobody reads its result (storing it cost a Redis write, and the web process a subscription). Requests no
# longer queue it (they write an outbox row); it stays for messages queued before that, and for direct use.
@shared_task(ignore_result=True)
def notification_send_task(*, user_id: int, kind: str, key: str, params: dict, link: str = "") -> int | None:
    """Write one notification and email it (idempotent by key, so a redelivered task sends nothing twice)."""
    notification = notification_send(user_id=user_id, kind=kind, key=key, params=params, link=link)
    return notification.pk if notification else None


@shared_task(ignore_result=True)
def notifications_outbox_task() -> int:
    """Send what the outbox holds (queued by a web process after a commit, and by beat)."""
    return outbox_drain()


@shared_task
def notifications_sweep_task() -> dict[str, int]:
    result = notifications_sweep()
    return {"maturities": result.maturities, "rate_changes": result.rate_changes, "disclosures": result.disclosures}


@shared_task
def launch_notify_task(*, product_id: int, user_ids: list[int]) -> int:
    """Tell one settle batch's customers their allocation and refund (idempotent by notification key)."""
    from notifications.launch_notices import launch_notify

    return launch_notify(product_id, user_ids)


@shared_task
def disclosure_notify_task(*, disclosure_id: int) -> int:
    """Tell the holders of a product about its new disclosure version (idempotent by notification key)."""
    from notifications.disclosure_notices import disclosure_notify_holders

    return disclosure_notify_holders(disclosure_id)
