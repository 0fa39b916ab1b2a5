"""Template filters for amounts and rates (Decimal in, text out; never floats)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from core.money import decimal_text
from earn.apy import as_percent
from ledger.models import AccountKind, EntryKind

register = template.Library()


@register.filter
def percent(value: object) -> str:
    """A fraction as a percentage to at most 4 places: 0.05 → "5%", 0.105156 → "10.5156%"."""
    try:
        number = as_percent(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return ""
    return f"{decimal_text(number)}%"


@register.filter
def pct(value: object) -> str:
    """A number already in percent, without trailing zeros: Decimal("1.5000") → "1.5%"."""
    try:
        return f"{decimal_text(Decimal(str(value)))}%"
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def money(value: object, scale: object = 8) -> str:
    """An amount at the asset's scale, rounded down like the API: "1000.00000000"."""
    if value is None or value == "":
        return ""
    try:
        return decimal_text(Decimal(str(value)), int(str(scale))) or ""
    except (InvalidOperation, ValueError):
        return ""


@register.filter
def entry_kind(value: str) -> str:
    """A journal entry kind in words, translated ("subscription" → "Subscription" / "認購")."""
    return str(dict(EntryKind.choices).get(value, value))


@register.filter
def account_kind(value: str) -> str:
    """A ledger account kind in words, translated ("earn" → "Earn (principal)")."""
    return str(dict(AccountKind.choices).get(value, value))


@register.filter
def country_name(value: str) -> str:
    """An ISO country code in words, translated ("SG" → "Singapore" / "新加坡"); an unlisted code as it is."""
    from portal.forms import COUNTRIES

    return str(dict(COUNTRIES).get(value, value or ""))
