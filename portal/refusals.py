"""Refusals in plain words, each with what the customer can do next.

The words live with each code's `Refusal` (core.refusals, registered by the domain apps); this module only turns
them into advice with a link for the page at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from core.refusals import message_for, refusal_for


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


def advise(codes: list[str], *, product_id: int | None = None, message: str = "") -> list[Advice]:
    """One piece of advice per reason code (the first may carry the service's own message)."""
    out = []
    for index, code in enumerate(codes):
        text = message_for(code) or (message if index == 0 else code)
        if code == "JURISDICTION_RESTRICTED" and "RESIDENCE_UNDER_REVIEW" in codes:
            # The customer already asked for a change; the under-review advice says what happens next.
            out.append(Advice(code, text, ""))
            continue
        refusal = refusal_for(code)
        link, link_text = _link(code, product_id)
        out.append(Advice(code, text, str(refusal.next_step) if refusal is not None else "", link, link_text))
    return out
