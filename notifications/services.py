"""Writing notifications: the inbox row (once per user and key) and its email, after the commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.models import User
from notifications.messages import BODIES, SUBJECTS
from notifications.models import Notification

logger = logging.getLogger(__name__)


def _localise(params: dict[str, Any], language: str) -> dict[str, str]:
    """Values given per language ({"en": …, "zh-hant": …}) resolve to the customer's; lazy strings render."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            value = value.get(language) or value.get("en") or ""
        out[key] = str(value)
    return out


def notification_send(*, user_id: int, kind: str, key: str, params: dict[str, Any], link: str = ""
                      ) -> Notification | None:
    """Store the inbox item and email it; a second call with the same (user, key) does nothing."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    language = user.language or "en"
    with translation.override(language):
        values = _localise(params, language)
        subject = str(SUBJECTS[kind]) % values
        body = str(BODIES[kind]) % values
    try:
        with transaction.atomic():
            notification = Notification.objects.create(user=user, kind=kind, key=key[:120], subject=subject[:200],
                                                       body=body, link=link, language=language)
    except IntegrityError:
        return None  # already sent for this event
    url = f"{settings.PORTAL_BASE_URL.rstrip('/')}{link}" if link else ""
    try:
        send_mail(subject, f"{body}\n\n{url}".strip(), None, [user.email])
    except Exception:  # the inbox keeps the message; a broken mail server must not fail the caller
        logger.exception("notification email failed: %s", notification.pk)
        return notification
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return notification


def notification_send_on_commit(*, user_id: int, kind: str, key: str, params: dict[str, Any], link: str = "") -> None:
    """Send once the surrounding transaction commits (nothing is sent for a rolled-back change).

    With NOTIFICATIONS_VIA_CELERY (the default) a worker writes the row and talks to the mail server,
    so a slow SMTP server never delays the customer's request; otherwise it happens right after commit.
    """
    values = {k: (v if isinstance(v, dict) else str(v)) for k, v in params.items()}  # JSON for the task
    task_kwargs: dict[str, Any] = {"user_id": user_id, "kind": str(kind), "key": key, "params": values, "link": link}
    after_commit(key, "notification_send_task", task_kwargs, notification_send)


def after_commit(what: str, task: str, kwargs: dict[str, Any], direct: Callable[..., Any]) -> None:
    """Once the surrounding transaction commits: queue `notifications.tasks.<task>(**kwargs)` with
    NOTIFICATIONS_VIA_CELERY, else call `direct(**kwargs)`. A failure is logged, never raised: the change
    it reports has committed, and a notification must not turn it into an error."""
    def send() -> None:
        try:
            if settings.NOTIFICATIONS_VIA_CELERY:
                getattr(import_module("notifications.tasks"), task).delay(**kwargs)
            else:
                direct(**kwargs)
        except Exception:
            logger.exception("notification failed: %s", what)

    transaction.on_commit(send)


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of the user as read; returns how many changed."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        rows = rows.filter(pk=notification_id)
    return rows.update(read_at=timezone.now())
