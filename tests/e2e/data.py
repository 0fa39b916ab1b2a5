"""Data for the browser journeys: jurisdiction rules, products, funded customers of four countries."""

from __future__ import annotations

from decimal import Decimal

from compliance import defaults
from compliance.models import AssessmentQuestion, JurisdictionRule
from ledger import services as ledger
from pricing.services import price_record
from tests.earn.factories import live_product
from tests.factories import AssetFactory, UserFactory

PASSWORD = "pass-word-123"


def install_rules() -> None:
    """The default HK and GB rules and questions (the transactional live-server tests flush them)."""
    for rule in defaults.RULES:
        JurisdictionRule.objects.get_or_create(country=rule["country"], defaults=rule)
    for jurisdiction, bank in defaults.questions().items():
        for question in bank:
            AssessmentQuestion.objects.get_or_create(jurisdiction=jurisdiction, key=question["key"],
                                                     defaults=question)


def correct_answers(country: str) -> dict[str, str]:
    return dict(AssessmentQuestion.objects.filter(jurisdiction=country).values_list("key", "answer"))


def world() -> dict:
    install_rules()
    AssetFactory(code="USDT", name="Tether USD", scale=8)
    price_record(asset_code="USDT", price_usd="1")
    flexible = live_product("USDT", "demand", name_en="USDT Flexible Savings", name_zh_hant="USDT 活期理財",
                            risk_rating=2, total_cap="1000000",
                            tiers=[(0, 1000, "0.06"), (1000, None, "0.03")])
    fixed = live_product("USDT", "fixed", name_en="USDT 30-day Fixed", name_zh_hant="USDT 30 日定期",
                         risk_rating=3, term_days=30, early_redemption="forfeit_interest", auto_renew_allowed=True,
                         tiers=[(0, None, "0.08")])
    users = {
        "hk": UserFactory(email="alice@hk.example", country="HK", display_name="Alice Chan", language="en",
                          professional_investor=False),
        "gb": UserFactory(email="bob@gb.example", country="GB", display_name="Bob Smith", language="en"),
        "us": UserFactory(email="carol@us.example", country="US", display_name="Carol Jones", language="en"),
        "zh": UserFactory(email="david@hk.example", country="HK", display_name="David Wong", language="zh-hant",
                          professional_investor=False),
    }
    for key, user in users.items():
        ledger.deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("10000"), reference=f"e2e-fund-{key}")
    return {"flexible": flexible, "fixed": fixed, **users}
