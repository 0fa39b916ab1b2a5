"""Refusals in plain words, each with what the customer can do next."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from earn.services.subscriptions import REFUSAL_MESSAGES


@dataclass(frozen=True)
class Advice:
    code: str
    message: str
    next_step: str
    link: str = ""
    link_text: str = ""


NEXT_STEPS = {
    "KYC_REQUIRED": _("Our compliance team verifies every new customer's identity and residence. You can "
                      "subscribe once your profile shows the verification as complete."),
    "RESIDENCE_UNDER_REVIEW": _("You can subscribe again once our compliance team has decided on your request; "
                                "your profile shows its status."),
    "NO_ACK": _("Read the risk disclosure below and tick every statement."),
    "ACK_OUTDATED": _("Read the new version of the risk disclosure and tick every statement again."),
    "JURISDICTION_RESTRICTED": _("Earn is not offered where you live. If your country of residence has changed, "
                                 "request a change in your profile."),
    "ASSESSMENT_REQUIRED": _("Take the short knowledge assessment, then come back to subscribe."),
    "ASSESSMENT_FAILED": _("Review the product information; you can retake the assessment after the waiting time."),
    "COOLING_OFF": _("Take your time to read about the product; you can subscribe once the 24 hours have passed."),
    "EXPOSURE_LIMIT": _("Choose a smaller amount, or check that your risk profile and declared net worth are up "
                        "to date."),
    "PRODUCT_NOT_LIVE": _("Choose another product from the Earn home page."),
    "OUTSIDE_WINDOW": _("Choose another product, or come back when the window opens."),
    "BELOW_MIN": _("Enter at least the minimum amount shown in the product's rules."),
    "ABOVE_MAX": _("Enter at most the maximum shown in the product's rules, or subscribe in several parts."),
    "USER_CAP_REACHED": _("Enter a smaller amount: it must fit within your personal limit left."),
    "CAP_REACHED": _("Enter a smaller amount, or choose another product."),
    "INSUFFICIENT_BALANCE": _("Enter a smaller amount, or add funds to your available balance first."),
    "OTP_REQUIRED": _("Enter the 6-digit code from your authenticator app."),
    "OTP_INVALID": _("Enter the current code from your authenticator app, or one of your recovery codes."),
    "EARLY_REDEMPTION_NOT_ALLOWED": _("This position returns your money automatically on its maturity date."),
    "IDEMPOTENCY_KEY_REUSED": _("Start again from the preview."),
}

EXTRA_MESSAGES = {
    "OTP_REQUIRED": _("A one-time code is needed to move money."),
    "OTP_INVALID": _("That one-time code was not accepted."),
    "EARLY_REDEMPTION_NOT_ALLOWED": _("Early redemption is not allowed for this product."),
}


def _link(code: str, product_id: int | None) -> tuple[str, str]:
    if code in ("NO_ACK", "ACK_OUTDATED") and product_id:
        return reverse("portal:subscribe", args=[product_id]) + "#disclosure", str(_("Read and acknowledge"))
    if code in ("ASSESSMENT_REQUIRED", "ASSESSMENT_FAILED") and product_id:
        return reverse("portal:assessment", args=[product_id]), str(_("Take the assessment"))
    if code == "EXPOSURE_LIMIT":
        back = reverse("portal:subscribe", args=[product_id]) if product_id else reverse("portal:dashboard")
        return f"{reverse('portal:risk_profile')}?next={back}", str(_("Your risk profile"))
    if code in ("JURISDICTION_RESTRICTED", "KYC_REQUIRED", "RESIDENCE_UNDER_REVIEW"):
        return reverse("portal:profile"), str(_("Profile"))
    if code in ("PRODUCT_NOT_LIVE", "OUTSIDE_WINDOW"):
        return reverse("portal:home"), str(_("Earn products"))
    if code == "INSUFFICIENT_BALANCE":
        return reverse("portal:dashboard"), str(_("Your balances"))
    return "", ""


def advise(codes: list[str], *, product_id: int | None = None, message: str = "") -> list[Advice]:
    """One piece of advice per reason code (the first may carry the service's own message)."""
    out = []
    for index, code in enumerate(codes):
        text = str(REFUSAL_MESSAGES.get(code) or EXTRA_MESSAGES.get(code) or (message if index == 0 else code))
        if code == "JURISDICTION_RESTRICTED" and "RESIDENCE_UNDER_REVIEW" in codes:
            # The customer already asked for a change; the under-review advice says what happens next.
            out.append(Advice(code, text, ""))
            continue
        link, link_text = _link(code, product_id)
        out.append(Advice(code, text, str(NEXT_STEPS.get(code, "")), link, link_text))
    return out
