"""Template filters for amounts and rates (Decimal in, text out; never floats)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from core.money import decimal_text
from earn.apy import as_percent
from ledger.models import AccountKind, EntryKind

register = template.Library()



def _decimal_or_none(value: object) -> Decimal | None:
    """What a template passes (Decimal, int, text), as a Decimal; None for nothing or not a number."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


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


# Places an amount is shown with in tables and cards (the full amount is on hover and in exports): cents for
# dollar-like assets, six places for coins; other assets at their own scale (at most 8).
DISPLAY_PLACES = {"USDT": 2, "USDC": 2, "USD": 2, "HKD": 2, "BTC": 6, "ETH": 6}


def display_places(code: str, scale: int = 8) -> int:
    return min(DISPLAY_PLACES.get(code.upper(), scale), scale)


def grouped(value: Decimal, places: int) -> str:
    """1234.5 → "1,234.50": thousands separators, `places` decimals, rounded down (never shows more than held)."""
    from decimal import ROUND_DOWN

    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):,.{places}f}"


@register.filter
def amount(value: object, asset: object = "") -> str:
    """An amount for reading: thousands separators at the asset's display precision, the full amount on hover.

    `asset` is an Asset or its code; "USD" shows cents."""
    from django.utils.html import format_html

    number = _decimal_or_none(value)
    if number is None:
        return ""
    code = str(getattr(asset, "code", asset) or "")
    scale = int(getattr(asset, "scale", 8) or 8)
    full = decimal_text(number, scale) if hasattr(asset, "scale") else decimal_text(number)
    return format_html('<span class="amt" title="{}">{}</span>', full, grouped(number, display_places(code, scale)))


@register.filter
def exact(value: object) -> str:
    """A limit or bound in full, with thousands separators and no trailing zeros: 1000000 → "1,000,000",
    0.00000001 → "0.00000001" (never rounded: a minimum shown rounded would be wrong)."""
    number = _decimal_or_none(value)
    if number is None:
        return ""
    text = decimal_text(number) or "0"
    whole, _dot, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-') or 0):,}"
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"
