"""Money helpers with no Django import at module load: Decimals only, never floats.

`parse_amount` translates its messages with Django's gettext, imported when it is called, so the
pure arithmetic here (and earn.interest on top of it) stays importable without Django.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, overload

from core.errors import InvalidAmount

MAX_DIGITS = 38
DECIMAL_PLACES = 18
# The one rounding mode of the money path: exact interest to 18 dp, posted amounts to the asset's scale,
# both towards zero, so nothing is ever paid that was not earned (the accrual SQL's trunc() is the same).
ROUNDING = ROUND_DOWN
EXACT = Decimal(1).scaleb(-DECIMAL_PLACES)  # 1e-18, the resolution of NUMERIC(38,18)
# The largest amount any request may carry. NUMERIC(38,18) holds 20 integer digits (< 1e20); an amount
# up to 1e15 leaves five digits of headroom for balances, caps and totals that add many amounts, so no
# accepted amount can overflow a column later (a 500) — and no real asset moves more in one request.
MAX_AMOUNT = Decimal(10) ** 15
# ASCII digits only: Decimal() alone would also take "１００" (full-width digits) and "1_000".
DECIMAL_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def to_decimal(value: object) -> Decimal:
    """Build a Decimal from a string, int or Decimal; floats are refused (they are not exact)."""
    if isinstance(value, (bool, float)):
        raise TypeError("money must not be a float or bool")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not DECIMAL_TEXT.fullmatch(text):
            raise ValueError(f"not a decimal number: {value!r}")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    else:
        raise TypeError(f"unsupported money type: {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("money must be finite")
    return result


def to_decimal_or_none(value: object) -> Decimal | None:
    """`to_decimal`, or None for what is not a decimal (a refused request's amount, kept as evidence if it parses)."""
    try:
        return to_decimal(value)
    except (TypeError, ValueError):
        return None


def too_large(amount: Decimal) -> bool:
    """Whether an amount (or rate) is beyond MAX_AMOUNT in size, either sign."""
    return abs(amount) > MAX_AMOUNT


def quantum(scale: int) -> Decimal:
    """The smallest unit of an asset with `scale` decimals (8 → 0.00000001)."""
    return Decimal(1).scaleb(-scale)


def floor_to_scale(amount: Decimal, scale: int) -> Decimal:
    """Round towards zero to the asset's scale (never pays out more than was earned)."""
    return amount.quantize(quantum(scale), rounding=ROUNDING)


def is_multiple_of_scale(amount: Decimal, scale: int) -> bool:
    return amount == floor_to_scale(amount, scale)


def exact18(amount: Decimal) -> Decimal:
    """Quantize to 18 decimal places, the stored precision, rounding down."""
    return amount.quantize(EXACT, rounding=ROUNDING)


def parse_amount(value: Any, *, scale: int, field: str = "amount") -> Decimal:
    """A positive decimal with at most the asset's decimals; floats and garbage are refused."""
    from django.utils.translation import gettext as _

    try:
        amount = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise InvalidAmount(_("Amount must be a decimal number written as a string."), field=field) from exc
    if amount <= 0:
        raise InvalidAmount(_("Amount must be greater than zero."), field=field)
    if too_large(amount):
        raise InvalidAmount(_("Amount is too large."), field=field)
    if amount != floor_to_scale(amount, scale):
        raise InvalidAmount(_("Amount has more than %(scale)s decimal places.") % {"scale": scale}, field=field)
    return amount


@overload
def decimal_text(value: Decimal, scale: int | None = None) -> str: ...
@overload
def decimal_text(value: None, scale: int | None = None) -> None: ...
def decimal_text(value: Decimal | None, scale: int | None = None) -> str | None:
    """A Decimal as API text: amounts at the asset's scale ("1000.00000000", never rounded up),
    rates without trailing zeros ("0.05")."""
    if value is None:
        return None
    if scale is not None:
        return format(floor_to_scale(value, scale), "f")
    return format(value.normalize(), "f") if value else "0"
