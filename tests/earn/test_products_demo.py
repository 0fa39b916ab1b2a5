"""seed_demo's product step: realistic products, approved bilingual disclosures, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from compliance.models import Disclosure, DisclosureStatus
from earn.models import Product, ProductStatus, TermsStatus


@pytest.mark.django_db
def test_seed_demo_products_twice():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    products = {p.name_en: p for p in Product.objects.filter(strategy="simple")
                .select_related("drafted_by", "approved_by")}  # the pool product: tests/pools/test_demo.py
    assert len(products) == 7
    statuses = {name: p.status for name, p in products.items()}
    assert statuses["USDT Flexible Savings"] == ProductStatus.LIVE
    assert statuses["USDC Flexible Savings"] == ProductStatus.IN_REVIEW
    assert statuses["USDC Fixed 14-Day"] == ProductStatus.PAUSED
    assert sum(s == ProductStatus.LIVE for s in statuses.values()) == 5
    usdt = products["USDT Flexible Savings"]
    terms = usdt.terms_versions.get()
    assert terms.status == TermsStatus.APPROVED
    assert [(str(t.lower.normalize()), str(t.apr.normalize())) for t in terms.tiers.all()] == [("0", "0.06"),
                                                                                            ("1E+4", "0.03")]
    assert usdt.drafted_by.email == "curator@earn.example" and usdt.approved_by.email == "approver@earn.example"
    eth = products["ETH Fixed 60-Day"].terms_versions.get()
    assert eth.term_days == 60 and eth.payout == "at_maturity"
    for product in products.values():
        disclosure = Disclosure.objects.get(product=product)
        assert disclosure.status == DisclosureStatus.CURRENT
        assert disclosure.author.email == "curator@earn.example"
        assert disclosure.approved_by.email == "approver@earn.example"
        assert "以英文版本為準" in disclosure.body_zh_hant and "English version prevails" in disclosure.body_en
