"""Two-factor refusals on money moves: status, customer message and next step (one home, core.refusals)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.twofactor import OTP_INVALID, OTP_REQUIRED
from core.refusals import Refusal

REFUSALS = (
    Refusal(OTP_REQUIRED, 403, _("A one-time code is needed to move money."),
            _("Enter the 6-digit code from your authenticator app.")),
    Refusal(OTP_INVALID, 403, _("That one-time code was not accepted."),
            _("Enter the current code from your authenticator app, or one of your recovery codes.")),
)
