"""Demo compliance data for `seed_demo`: the default rules and question banks, HK risk profiles.

Assessments are not pre-passed and nobody has viewed Earn yet, so the demo shows the whole journey:
HK customers meet the assessment on products rated 3 or more, Bob (GB) the assessment, the
warnings and the 24-hour cooling-off from his first view, Carol (US) the restricted-country refusal.

The demo's products lend (flexible and fixed savings) and provide pool liquidity, which the default category
rules refuse to HK and GB retail customers (docs/COMPLIANCE.md, "Product categories"). So that the demo's
customers can still walk through it, the demo adds category rule versions that offer those two categories in HK
and GB, each marked "Demo only" in its notes and recorded in the audit trail like any officer's change; the
installed defaults stay underneath as the superseded versions. A deployment that is not a demo never runs this.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import User
from accounts.selectors import user_ids_by_email
from compliance.models import CategoryRule, CustomerProfile
from compliance.services.customers import risk_profile_record
from compliance.services.rules import category_rule_save, rules_install_defaults

DEMO_NOTE = "Demo only: offered so that the demo's lending and pool products can be walked through."
# (jurisdiction, category, investor class) offered in the demo database only.
DEMO_OFFERS = [(country, category, klass) for country in ("HK", "GB") for category in ("lending", "liquidity_mining")
               for klass in ("retail", "professional")]
# email -> (risk profile, declared net worth in USD): moderate allows 30 %, high 50 % in Earn.
PROFILES = {"alice@hk.example": ("moderate", "250000"), "david@hk.example": ("high", "1200000")}


def seed_compliance(out: Callable[[str], None]) -> None:
    created = rules_install_defaults()
    out(f"compliance rules and question banks: {created} created" if created else
        "compliance rules and question banks: all present")
    demo_versions = 0
    for country, category, klass in DEMO_OFFERS:
        if not CategoryRule.objects.filter(jurisdiction=country, category=category, investor_class=klass,
                                           notes=DEMO_NOTE).exists():
            category_rule_save(actor=None, rule=CategoryRule(jurisdiction=country, category=category,
                                                             investor_class=klass, permitted=True, notes=DEMO_NOTE))
            demo_versions += 1
    out(f"demo category rules: {demo_versions} created" if demo_versions else "demo category rules: all present")
    ids = user_ids_by_email(emails=PROFILES)
    for email, (profile, net_worth) in PROFILES.items():
        if CustomerProfile.objects.filter(user_id=ids[email]).exclude(risk_profile="").exists():
            out(f"risk profile of {email}: exists")
            continue
        risk_profile_record(actor=None, user=User.objects.get(pk=ids[email]), risk_profile=profile,
                            net_worth_usd=net_worth)
        out(f"risk profile of {email}: {profile}, net worth {net_worth} USD")
