"""Money helpers with no Django import: Decimals only, never floats."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

MAX_DIGITS = 38
DECIMAL_PLACES = 18
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


def too_large(amount: Decimal) -> bool:
    """Whether an amount (or rate) is beyond MAX_AMOUNT in size, either sign."""
    return abs(amount) > MAX_AMOUNT


def quantum(scale: int) -> Decimal:
    """The smallest unit of an asset with `scale` decimals (8 → 0.00000001)."""
    return Decimal(1).scaleb(-scale)


def floor_to_scale(amount: Decimal, scale: int) -> Decimal:
    """Round towards zero to the asset's scale (never pays out more than was earned)."""
    return amount.quantize(quantum(scale), rounding=ROUND_DOWN)


def is_multiple_of_scale(amount: Decimal, scale: int) -> bool:
    return amount == floor_to_scale(amount, scale)


def exact18(amount: Decimal) -> Decimal:
    """Quantize to 18 decimal places, the stored precision, rounding down."""
    return amount.quantize(EXACT, rounding=ROUND_DOWN)


def decimal_text(value: Decimal | None, scale: int | None = None) -> str | None:
    """A Decimal as API text: amounts at the asset's scale ("1000.00000000", never rounded up),
    rates without trailing zeros ("0.05")."""
    if value is None:
        return None
    if scale is not None:
        return format(floor_to_scale(value, scale), "f")
    return format(value.normalize(), "f") if value else "0"
