"""Refusals in plain words, each with what the customer can do next.

The words live with each code's `Refusal` (core.refusals, registered by the domain apps); this module only turns
them into advice with a link for the page at hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _

from core.refusals import message_for, refusal_for

# Reasons the customer cannot deal with inside the subscribe flow: the flow refuses at its first step, says why and
# what to do, and logs the attempt (once per customer, product, reason and day).
BLOCKS = frozenset({"KYC_REQUIRED", "RESIDENCE_UNDER_REVIEW", "JURISDICTION_RESTRICTED", "PRODUCT_NOT_PERMITTED",
                    "COOLING_OFF"})
# Compliance reasons a preview or confirm can meet for one amount; logged like the blocks when they stop one.
LOGGED_AT_PREVIEW = BLOCKS | {"EXPOSURE_LIMIT"}


@dataclass(frozen=True)
class Advice:
    code: str
    message: str
    next_step: str
    link: str = ""
    link_text: str = ""


# Pages that are about one product, and where on the subscribe page the refusal is dealt with.
_PRODUCT_PAGES = {"portal:subscribe": "#disclosure", "portal:assessment": ""}


def _link(code: str, product_id: int | None) -> tuple[str, str]:
    refusal = refusal_for(code)
    if refusal is None or not refusal.next_url_name:
        return "", ""
    name = refusal.next_url_name
    if name in _PRODUCT_PAGES:
        if not product_id:
            return "", ""
        return reverse(name, args=[product_id]) + _PRODUCT_PAGES[name], str(refusal.link_text)
    if name == "portal:risk_profile":  # come back to the product once the profile is updated
        back = reverse("portal:subscribe", args=[product_id]) if product_id else reverse("portal:dashboard")
        return f"{reverse(name)}?next={back}", str(refusal.link_text)
    return reverse(name), str(refusal.link_text)


def blocks_of(codes: list[str]) -> list[str]:
    return [c for c in codes if c in BLOCKS]


def advise(codes: list[str], *, product_id: int | None = None, message: str = "",
           cooling_off_ends: dt.datetime | None = None) -> list[Advice]:
    """One piece of advice per reason code (the first may carry the service's own message); never a raw code."""
    out = []
    for index, code in enumerate(codes):
        text = message_for(code) or (message if index == 0 else "") or _("This subscription cannot go ahead.")
        if code == "COOLING_OFF" and cooling_off_ends is not None:
            when = cooling_off_ends.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
            out.append(Advice(code, text, _("You can subscribe from %(when)s UTC. Take your time to read about "
                                            "the product until then.") % {"when": when}))
            continue
        if code == "JURISDICTION_RESTRICTED" and "RESIDENCE_UNDER_REVIEW" in codes:
            # The customer already asked for a change; the under-review advice says what happens next.
            out.append(Advice(code, text, ""))
            continue
        refusal = refusal_for(code)
        link, link_text = _link(code, product_id)
        out.append(Advice(code, text, str(refusal.next_step) if refusal is not None else "", link, link_text))
    return out
