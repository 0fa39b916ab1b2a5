"""Model fields shared by the apps (the ground floor: every app's models may use them)."""

from __future__ import annotations

from django.db import models

from core.money import DECIMAL_PLACES, MAX_DIGITS


def MoneyField(**kwargs: object) -> models.DecimalField:  # noqa: N802 - reads like a field class
    """NUMERIC(38,18), the one money column type."""
    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)  # type: ignore[arg-type]
