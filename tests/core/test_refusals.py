"""One home per refusal code (core.refusals): every code a rule can raise is registered, and a new code needs
only its `Refusal` and its rule for the API status, portal advice and notifications to know it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

import compliance.errors
import earn.errors
from core import refusals
from core.refusals import Refusal, message_for, refusal_for, status_for
from earn.errors import SubscriptionRefused
from portal.refusals import advise

ROOT = Path(__file__).resolve().parents[2]

# The modules whose rules raise reason codes, and the module their `errors.NAME` constants come from.
RULES = [("compliance/gate.py", compliance.errors), ("earn/services/subscriptions.py", earn.errors),
         ("earn/services/redemptions.py", earn.errors), ("pools/services/deposits.py", earn.errors),
         ("earn/services/launch.py", earn.errors)]


def _codes_used(path: str, module) -> set[str]:
    """The reason codes a rules module refers to as `errors.NAME` (string constants of its errors module)."""
    tree = ast.parse((ROOT / path).read_text())
    names = {node.attr for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "errors"}
    return {getattr(module, name) for name in names if isinstance(getattr(module, name, None), str)}


def _constants(module) -> set[str]:
    return {value for name, value in vars(module).items() if name.isupper() and isinstance(value, str)}


def test_the_gate_can_raise_only_registered_codes_with_status_message_and_next_step():
    gate_codes = _codes_used("compliance/gate.py", compliance.errors)
    assert {"NO_ACK", "ACK_OUTDATED", "KYC_REQUIRED", "EXPOSURE_LIMIT", "COOLING_OFF"} <= gate_codes
    for code in gate_codes | _constants(compliance.errors):
        refusal = refusal_for(code)
        assert refusal is not None, f"{code} is not registered (compliance/refusals.py)"
        assert refusal.status in (403, 409) and str(refusal.message) and str(refusal.next_step), code


@pytest.mark.parametrize(("path", "module"), RULES[1:])
def test_subscription_and_deposit_codes_are_registered(path, module):
    for code in _codes_used(path, module) | _constants(earn.errors):
        refusal = refusal_for(code)
        assert refusal is not None, f"{code} ({path}) is not registered (earn/refusals.py)"
        assert refusal.status in (400, 403, 409) and str(refusal.message) and str(refusal.next_step), code


def test_statuses_are_the_api_contract():
    assert {code: status_for(code) for code in ("NO_ACK", "ACK_OUTDATED", "EXPOSURE_LIMIT", "BELOW_MIN", "ABOVE_MAX",
                                                "CAP_REACHED", "INSUFFICIENT_BALANCE", "OTP_REQUIRED")} == {
        "NO_ACK": 403, "ACK_OUTDATED": 409, "EXPOSURE_LIMIT": 403, "BELOW_MIN": 400, "ABOVE_MAX": 400,
        "CAP_REACHED": 409, "INSUFFICIENT_BALANCE": 409, "OTP_REQUIRED": 403}
    assert status_for("NOT_A_CODE") == 409


def test_every_registered_message_and_next_step_is_translated():
    for code in refusals.registered_codes():
        refusal = refusal_for(code)
        for text in (refusal.message, refusal.next_step, refusal.link_text):
            if text:
                with translation.override("en"):
                    english = str(text)
                with translation.override("zh-hant"):
                    assert str(text) != english, (code, english)


def test_each_message_has_one_home():
    """A refusal's words are written once, in its domain's refusals module, nowhere else in the apps."""
    sources = [p for p in ROOT.glob("*/**/*.py") if p.parts[len(ROOT.parts)] not in ("tests", ".venv")
               and "migrations" not in p.parts]
    with translation.override("en"):
        texts = {str(refusal_for(code).message) for code in refusals.registered_codes()
                 if refusal_for(code).message}
    for text in texts:
        homes = [p.relative_to(ROOT) for p in sources if text in p.read_text()]
        assert len(homes) == 1 and homes[0].name == "refusals.py", (text, homes)


def test_a_new_code_needs_only_its_refusal():
    new = Refusal("SANCTIONS_HIT", 403, _("A test refusal."), _("Call us."), next_url_name="portal:profile",
                  link_text=_("Profile"))
    refusals.register([new])
    try:
        error = SubscriptionRefused(message_for("SANCTIONS_HIT"), codes=["SANCTIONS_HIT"])
        assert (error.status, error.code, error.message) == (403, "SANCTIONS_HIT", "A test refusal.")
        [advice] = advise(["SANCTIONS_HIT"], product_id=1)
        assert (advice.message, advice.next_step, advice.link, advice.link_text) == (
            "A test refusal.", "Call us.", reverse("portal:profile"), "Profile")
    finally:
        refusals._REGISTRY.pop("SANCTIONS_HIT")


def test_a_code_belongs_to_one_domain():
    with pytest.raises(ValueError, match="registered twice"):
        refusals.register([Refusal("NO_ACK", 403, _("Another message."))])
    assert refusal_for("NO_ACK").message == "Please read and acknowledge this product's risk disclosure first."
