"""Writing notifications: the inbox row (once per user and key) and its email, after the commit (through the
outbox and a worker, or in this process)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from accounts.models import User
from core.kicks import OncePer
from core.rows import prepared_cursor
from notifications.messages import BODIES, SUBJECTS
from notifications.models import Notification, OutboxMessage

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
    written = _notification_write(user_id=user_id, kind=kind, key=key, params=params, link=link)
    if written is None:
        return None
    _notification_email(*written)
    return written[0]


def _notification_write(*, user_id: int, kind: str, key: str, params: dict[str, Any], link: str = ""
                        ) -> tuple[Notification, User] | None:
    """The inbox row, in the customer's language; None if the user is gone or inactive, or the key was used."""
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
    return notification, user


def _notification_email(notification: Notification, user: User) -> None:
    """Email a stored notification and mark it emailed. A failure is logged: the inbox keeps the message."""
    url = f"{settings.PORTAL_BASE_URL.rstrip('/')}{notification.link}" if notification.link else ""
    try:
        send_mail(notification.subject, f"{notification.body}\n\n{url}".strip(), None, [user.email])
    except Exception:  # a broken mail server must not fail the caller
        logger.exception("notification email failed: %s", notification.pk)
        return
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())


def notification_send_on_commit(*, user_id: int, kind: str, key: str, params: dict[str, Any], link: str = "") -> None:
    """Send once the surrounding transaction commits (nothing is sent for a rolled-back change).

    With NOTIFICATIONS_VIA_CELERY (the default) the notification is an outbox row written in the caller's
    transaction (one INSERT) and a worker writes the inbox item and talks to the mail server
    (`outbox_drain`), so neither a slow SMTP server nor the broker is in the customer's request: the
    request only asks for a drain, at most once per NOTIFICATION_OUTBOX_KICK_SECONDS per process.
    Otherwise the notification is written and emailed right after the commit, in this process.
    """
    values = {k: (v if isinstance(v, dict) else str(v)) for k, v in params.items()}  # JSON for the worker
    if not settings.NOTIFICATIONS_VIA_CELERY:
        after_commit(key, "notification_send_task", {"user_id": user_id, "kind": str(kind), "key": key,
                                                     "params": values, "link": link}, notification_send)
        return
    with prepared_cursor() as cursor:  # a plain INSERT: the ORM's would cost more Python than the statement
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} (user_id, kind, key, params, link, created_at) "
            "VALUES (%s, %s, %s, %s::jsonb, %s, %s)",
            [user_id, str(kind), key[:120], json.dumps(values, cls=DjangoJSONEncoder), link, timezone.now()])
    transaction.on_commit(_outbox_kick)


_kick_due = OncePer("NOTIFICATION_OUTBOX_KICK_SECONDS")


def _outbox_kick() -> None:
    """After the commit: ask a worker to drain the outbox, at most once per NOTIFICATION_OUTBOX_KICK_SECONDS
    per process. The drain is queued to run that many seconds later, so it also finds every row this process
    commits until then (their kicks are skipped); beat drains every NOTIFICATION_OUTBOX_EVERY_SECONDS in case
    a kick is lost. A broker that is down is logged, never raised: the row is committed and waits for beat."""
    if not _kick_due.due():
        return
    try:
        from notifications.tasks import notifications_outbox_task

        notifications_outbox_task.apply_async(countdown=settings.NOTIFICATION_OUTBOX_KICK_SECONDS,
                                              expires=settings.NOTIFICATION_OUTBOX_EVERY_SECONDS * 12)
    except Exception:
        logger.exception("notification outbox kick failed")


def outbox_drain(*, batch: int = 200) -> int:
    """Send what the outbox holds, oldest first; returns how many notifications were written.

    Per batch, one transaction: take up to `batch` rows no other drain holds (FOR UPDATE SKIP LOCKED, so
    concurrent drains share the work and never send one row twice), write their Notification rows, delete
    them, commit; then email what was written. A drain that dies before its commit leaves every row of the
    batch in place and no inbox row; after its commit, an email not yet sent stays unsent (`emailed_at`
    empty), as with the task that wrote and emailed a notification before the outbox.
    """
    table = OutboxMessage._meta.db_table
    written_total = 0
    while True:
        written: list[tuple[Notification, User]] = []
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    f"""DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT %s
                                                          FOR UPDATE SKIP LOCKED)
                        RETURNING id, user_id, kind, key, params, link""", [batch])
                rows = sorted(cursor.fetchall())
            for _id, user_id, kind, key, params, link in rows:
                done = _notification_write(user_id=user_id, kind=kind, key=key,
                                           params=json.loads(params) if isinstance(params, str) else params,
                                           link=link)
                if done is not None:
                    written.append(done)
        for notification, user in written:
            _notification_email(notification, user)
        written_total += len(written)
        if len(rows) < batch:
            return written_total


def outbox_backlog() -> tuple[int, dt.datetime | None]:
    """Rows waiting in the outbox and the oldest one's time (for the metrics endpoint)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), min(created_at) FROM {OutboxMessage._meta.db_table}")
        count, oldest = cursor.fetchone()
    return count, oldest


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
