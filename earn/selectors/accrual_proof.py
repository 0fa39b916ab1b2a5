"""The accrual proof of one position: every day's inputs and results, enough to recompute each day offline.

Built from the accrual rows (one per position and day) and the versioned terms, never from ledger
postings, so it does not depend on how the interest was posted. For each day: the base, the tiers and
day-count basis of the terms in force (with their version), the carry in, and the exact, posted and
carry out the engine stored. `bin/earn_verify.py` recomputes each day with the rule of earn.interest.

Terms in force on day D: a fixed-term position keeps the version it subscribed under; a demand
position follows the product's approved version with the latest `effective_from` on or before D
(ties: the higher version), the rule of the accrual engine. Four queries whatever the length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from core.money import DECIMAL_PLACES, ROUNDING
from earn.models import Accrual, Position, PositionChange, ProductTerms, TermsStatus, TermType

PROOF_FORMAT = "earn-accrual-proof/1"
RULE = ("yearly = Σ over tiers of max(min(base, upper) − lower, 0) × apr (upper null = no bound); "
        "exact = round_down(yearly / day_count_basis, 18 dp); apr = round_down(yearly / base, 18 dp); "
        "posted = round_down(exact + carry_in, scale); carry_out = exact + carry_in − posted; "
        "carry_in = the previous day's carry_out (0 on the first day); "
        "base = Σ amount of the changes effective on or before the day.")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _terms_json(terms: ProductTerms) -> dict[str, Any]:
    tiers = sorted(terms.tiers.all(), key=lambda t: t.lower)
    return {"version": terms.version, "effective_from": terms.effective_from.isoformat(),
            "day_count_basis": terms.day_count_basis,
            "tiers": [{"lower": _text(t.lower), "upper": _text(t.upper), "apr": _text(t.apr)} for t in tiers]}


def _in_force(versions: Sequence[ProductTerms], day: dt.date) -> ProductTerms | None:
    eligible = [t for t in versions if t.effective_from <= day]
    return max(eligible, key=lambda t: (t.effective_from, t.version)) if eligible else None


def accrual_proof(position: Position) -> dict[str, Any]:
    """The proof document of a position (the caller checked it is the customer's own)."""
    if position.term_type == TermType.FIXED:
        versions = list(ProductTerms.objects.filter(pk=position.terms_id).prefetch_related("tiers"))
    else:
        versions = list(ProductTerms.objects.filter(product_id=position.product_id, status=TermsStatus.APPROVED)
                        .prefetch_related("tiers").order_by("effective_from", "version"))
    rendered = {t.pk: _terms_json(t) for t in versions}
    days: list[dict[str, Any]] = []
    carry = Decimal(0)
    total = Decimal(0)
    for row in (Accrual.objects.filter(position=position).order_by("date")
                .values_list("date", "base", "apr", "exact", "posted", "carry", "payout")):
        date, base, apr, exact, posted, carry_out, payout = row
        terms = versions[0] if position.term_type == TermType.FIXED else _in_force(versions, date)
        terms_json = rendered[terms.pk] if terms is not None else {"version": None, "day_count_basis": None,
                                                                   "tiers": []}
        days.append({"date": date.isoformat(), "terms_version": terms_json["version"],
                     "day_count_basis": terms_json["day_count_basis"], "tiers": terms_json["tiers"],
                     "base": _text(base), "carry_in": _text(carry), "exact": _text(exact), "apr": _text(apr),
                     "posted": _text(posted), "carry_out": _text(carry_out), "payout": payout})
        carry = carry_out
        total += posted
    changes = [{"effective_date": d.isoformat(), "amount": _text(amount), "reason": reason}
               for d, amount, reason in PositionChange.objects.filter(position=position)
               .order_by("effective_date", "id").values_list("effective_date", "amount", "reason")]
    return {
        "format": PROOF_FORMAT,
        "position": position.pk, "product": position.product_id, "asset": position.asset_id,
        "scale": position.asset.scale, "term_type": position.term_type,
        "value_date": position.value_date.isoformat(),
        "maturity_date": position.maturity_date.isoformat() if position.maturity_date else None,
        "rounding": ROUNDING, "exact_decimal_places": DECIMAL_PLACES, "rule": RULE,
        "terms": [rendered[t.pk] for t in versions],
        "changes": changes,
        "days": days,
        "totals": {"days": len(days), "posted": _text(total), "carry": _text(carry)},
    }
