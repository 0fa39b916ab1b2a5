"""Alerts for staff (operations and compliance): the inbox row and email every notification gets, sent to each
active staff user in those roles. Keys carry the subject and the day, so a re-run job alerts nobody twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.urls import reverse

from accounts.roles import COMPLIANCE_OFFICER, OPERATIONS
from accounts.selectors import staff_in_roles
from core.money import decimal_text
from earn.models import ExposureKind
from earn.selectors.exposure import GroupExposure, exposure_report
from notifications.events import _lazy_by_language
from notifications.models import NotificationKind
from notifications.services import notification_send_on_commit

ALERT_ROLES = (OPERATIONS, COMPLIANCE_OFFICER)


def percent_text(fraction: Decimal, places: int = 2) -> str:
    """0.0572 → "5.72 %" (a loss is given as its size)."""
    return f"{decimal_text((abs(fraction) * 100).quantize(Decimal(1).scaleb(-places)), places)} %"


def exposure_page_link() -> str:
    return reverse("operations-exposure")


def staff_alert_on_commit(*, kind: str, key: str, params: dict[str, Any], link: str = "") -> int:
    """Queue one alert per staff user in the alert roles (sent after the commit); returns how many were queued."""
    staff = staff_in_roles(ALERT_ROLES)
    for user in staff:
        notification_send_on_commit(user_id=user.pk, kind=kind, key=key, params=params, link=link)
    return len(staff)


def _kind_label(kind: str) -> dict[str, str]:
    return _lazy_by_language(ExposureKind(kind).label, {})


def exposure_breach_alert(group: GroupExposure, day: dt.date) -> int:
    """Tell operations and compliance that a venue or counterparty is past its limit (once per limit per day)."""
    assert group.limit is not None and group.utilisation is not None
    products = ", ".join(f"{p.name} ({decimal_text(p.exposure_usd, 2) if p.exposure_usd is not None else '—'})"
                         for p in group.products)
    return staff_alert_on_commit(
        kind=NotificationKind.STAFF_EXPOSURE_BREACH, key=f"exposure-breach:{group.limit.pk}:{day.isoformat()}",
        link=exposure_page_link(),
        params={"kind": _kind_label(group.kind), "name": group.name, "date": day,
                "exposure_usd": decimal_text(group.exposure_usd, 2), "limit_usd": decimal_text(group.limit_usd, 2),
                "utilisation": percent_text(group.utilisation, 1), "products": products})


def exposure_breaches_notify(*, day: dt.date, at: dt.datetime | None = None) -> list[GroupExposure]:
    """Every venue and counterparty over its limit now: one staff alert each for `day`. Returns the breaches."""
    breaches = exposure_report(at=at).breaches
    for group in breaches:
        exposure_breach_alert(group, day)
    return breaches
