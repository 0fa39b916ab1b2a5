"""Reads for the disclosure redline: what changed since the version a customer acknowledged.

The diff itself is pure (compliance.disclosure_diff); this module finds the two versions.
Only approved versions (current or superseded) can be compared: drafts and rejected ones were
never shown to a customer.
"""

from __future__ import annotations

from typing import Any

from compliance import selectors
from compliance.disclosure_diff import diff_disclosure
from compliance.models import Acknowledgement, Disclosure, DisclosureStatus
from compliance.selectors import disclosure_text

SHOWN = (DisclosureStatus.CURRENT, DisclosureStatus.SUPERSEDED)


def acknowledgement_latest(*, user: Any, product_id: int) -> Acknowledgement | None:
    """The customer's newest acknowledgement of any version of a product's disclosure."""
    if not getattr(user, "is_authenticated", False):
        return None
    return selectors.acknowledgement_latest(user_id=user.pk, product_id=product_id)


def disclosure_shown(*, product_id: int, version: int) -> Disclosure | None:
    """An approved version (current or superseded) of a product's disclosure, or None."""
    return Disclosure.objects.filter(product_id=product_id, version=version, status__in=SHOWN).first()


def _ref(disclosure: Disclosure) -> dict[str, Any]:
    return {"id": disclosure.pk, "version": disclosure.version, "sha256": disclosure.sha256,
            "approved_at": disclosure.approved_at}


def disclosure_changes(*, since: Disclosure, current: Disclosure, language: str) -> dict[str, Any]:
    """The redline from `since` to `current` in one language: body and risk statements."""
    old = disclosure_text(since, language=language)
    new = disclosure_text(current, language=language)
    return {"product": current.product_id, "language": new["language"], "since": _ref(since),
            "current": _ref(current), **diff_disclosure(old, new)}
