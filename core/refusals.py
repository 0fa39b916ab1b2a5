"""One home per refusal code: its HTTP status, customer message and next step.

Each domain app keeps a tuple of `Refusal`s beside its rules (compliance/refusals.py, earn/refusals.py, …) and
registers it from `AppConfig.ready`; the API, the portal, notifications and pools read it through `refusal_for`.
Core imports no app: it only holds the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Refusal:
    """A reason code and what it means to the customer. Strings are lazy: they translate when read."""

    code: str
    status: int = 409
    message: StrOrPromise = ""  # the customer's message; empty when the raising service's own message is shown
    next_step: StrOrPromise = ""  # what the customer can do about it (portal); empty when there is nothing to do
    next_url_name: str = ""  # the portal page that helps (a URL name), and the words of its link
    link_text: StrOrPromise = ""


_REGISTRY: dict[str, Refusal] = {}


def register(refusals: Iterable[Refusal]) -> None:
    """Add a domain's refusals; a code belongs to exactly one domain, so a second definition is an error."""
    for refusal in refusals:
        known = _REGISTRY.get(refusal.code)
        if known is not None and known is not refusal:
            raise ValueError(f"refusal code {refusal.code} is registered twice")
        _REGISTRY[refusal.code] = refusal


def refusal_for(code: str) -> Refusal | None:
    return _REGISTRY.get(code)


def registered_codes() -> frozenset[str]:
    return frozenset(_REGISTRY)


def status_for(code: str, default: int = 409) -> int:
    refusal = _REGISTRY.get(code)
    return refusal.status if refusal is not None else default


def message_for(code: str, default: Any = "") -> str:
    """The customer's message for `code` in the active language, or `default` when it has none."""
    refusal = _REGISTRY.get(code)
    return str(refusal.message if refusal is not None and refusal.message else default)


# Core's own code: a reused idempotency key (core.errors.IdempotencyKeyReused); its message is the service's.
CORE_REFUSALS = (
    Refusal("IDEMPOTENCY_KEY_REUSED", status=409, next_step=_("Start again from the preview.")),
)
