"""The compliance gate's refusals: status, customer message and next step per code (one home, core.refusals).

Adding a gate rule: a code constant in compliance/errors.py, the rule in compliance/gate.py, and its
`Refusal` here. Nothing else (API status, portal advice, notifications, pools) needs to change.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from compliance import errors
from core.refusals import Refusal

_PROFILE: dict[str, Any] = {"next_url_name": "portal:profile", "link_text": _("Profile")}
_DISCLOSURE: dict[str, Any] = {"next_url_name": "portal:subscribe", "link_text": _("Read and acknowledge")}
_ASSESSMENT: dict[str, Any] = {"next_url_name": "portal:assessment", "link_text": _("Take the assessment")}

# 403 for compliance blocks; 409 for an outdated acknowledgement (a state conflict, API.md).
REFUSALS = (
    Refusal(errors.KYC_REQUIRED, 403,
            _("Your identity and country of residence have not been verified yet."),
            _("Our compliance team verifies every new customer's identity and residence. You can "
              "subscribe once your profile shows the verification as complete."), **_PROFILE),
    Refusal(errors.RESIDENCE_UNDER_REVIEW, 403,
            _("Your request to change your country of residence is being reviewed."),
            _("You can subscribe again once our compliance team has decided on your request; "
              "your profile shows its status."), **_PROFILE),
    Refusal(errors.NO_ACK, 403,
            _("Please read and acknowledge this product's risk disclosure first."),
            _("Read the risk disclosure below and tick every statement."), **_DISCLOSURE),
    Refusal(errors.ACK_OUTDATED, 409,
            _("The risk disclosure has changed; please read and acknowledge the new version."),
            _("Read the new version of the risk disclosure and tick every statement again."), **_DISCLOSURE),
    Refusal(errors.JURISDICTION_RESTRICTED, 403,
            _("Earn products are not available in your country of residence."),
            _("Earn is not offered where you live. If your country of residence has changed, "
              "request a change in your profile."), **_PROFILE),
    Refusal(errors.PRODUCT_NOT_PERMITTED, 403,
            _("This product is not offered to customers of your country of residence and investor class."),
            _("What a product does with your assets decides where it may be offered. Products you can "
              "subscribe to are listed in Earn; positions you already hold are not affected."),
            next_url_name="portal:home", link_text=_("Earn products")),
    Refusal(errors.ASSESSMENT_REQUIRED, 403,
            _("Please complete the knowledge assessment before subscribing."),
            _("Take the short knowledge assessment, then come back to subscribe."), **_ASSESSMENT),
    Refusal(errors.ASSESSMENT_FAILED, 403,
            _("The knowledge assessment was not passed; you can retake it later."),
            _("Review the product information; you can retake the assessment after the waiting time."),
            **_ASSESSMENT),
    Refusal(errors.COOLING_OFF, 403,
            _("New customers can subscribe 24 hours after first viewing Earn."),
            _("Take your time to read about the product; you can subscribe once the 24 hours have passed.")),
    Refusal(errors.EXPOSURE_LIMIT, 403,
            _("This subscription would take your virtual-asset holdings beyond your limit."),
            _("Choose a smaller amount, or check that your risk profile and declared net worth are up "
              "to date."), next_url_name="portal:risk_profile", link_text=_("Your risk profile")),
)
