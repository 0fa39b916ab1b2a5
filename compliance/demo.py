"""Demo compliance data for `seed_demo`: the default rules and question banks, HK risk profiles.

Assessments are not pre-passed and nobody has viewed Earn yet, so the demo shows the whole journey:
HK customers meet the assessment on products rated 3 or more, Bob (GB) the assessment, the
warnings and the 24-hour cooling-off from his first view, Carol (US) the restricted-country refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import User
from accounts.selectors import user_ids_by_email
from compliance.models import CustomerProfile
from compliance.services.customers import risk_profile_record
from compliance.services.rules import rules_install_defaults

# email -> (risk profile, declared net worth in USD): moderate allows 30 %, high 50 % in Earn.
PROFILES = {"alice@hk.example": ("moderate", "250000"), "david@hk.example": ("high", "1200000")}


def seed_compliance(out: Callable[[str], None]) -> None:
    created = rules_install_defaults()
    out(f"compliance rules and question banks: {created} created" if created else
        "compliance rules and question banks: all present")
    ids = user_ids_by_email(emails=PROFILES)
    for email, (profile, net_worth) in PROFILES.items():
        if CustomerProfile.objects.filter(user_id=ids[email]).exclude(risk_profile="").exists():
            out(f"risk profile of {email}: exists")
            continue
        risk_profile_record(actor=None, user=User.objects.get(pk=ids[email]), risk_profile=profile,
                            net_worth_usd=net_worth)
        out(f"risk profile of {email}: {profile}, net worth {net_worth} USD")
