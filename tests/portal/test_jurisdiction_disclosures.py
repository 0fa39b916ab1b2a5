"""Issue 19 item 6: per-jurisdiction disclosure wording (FSCS for GB), the FCA warning on every page showing rates."""

from __future__ import annotations

import pytest

from compliance.models import JurisdictionRule
from compliance.services.disclosures import STANDARD_RISKS, disclosure_content_hash
from earn.services.subscriptions import subscription_create
from tests.e2e.data import install_rules
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRESCRIBED = "Don&#x27;t invest unless you&#x27;re prepared to lose all the money you invest."


def test_gb_customer_reads_the_uk_wording_and_hk_customer_the_hong_kong_one(client, assets):
    product = live_product("USDT", "demand", name_en="USDT Flexible",
                           statements=[{"key": "no_deposit_protection", **STANDARD_RISKS["no_deposit_protection"]}])
    client.force_login(UserFactory(country="GB"))
    gb = client.get(f"/products/{product.pk}").content.decode()
    assert "Financial Services Compensation Scheme (FSCS)" in gb and "Hong Kong Deposit Protection" not in gb
    gb_zh = client.get(f"/products/{product.pk}?lang=zh-hant").content.decode()
    assert "英國金融服務補償計劃（FSCS）" in gb_zh
    client.force_login(UserFactory(country="HK"))
    hk = client.get(f"/products/{product.pk}").content.decode()
    assert "Hong Kong Deposit Protection Scheme" in hk and "FSCS" not in hk
    client.force_login(UserFactory(country="SG"))
    sg = client.get(f"/products/{product.pk}").content.decode()
    assert "not protected by any deposit insurance" in sg and "FSCS" not in sg and "Hong Kong" not in sg


def test_the_per_country_wording_is_part_of_the_hash():
    plain = [{"key": "k", "en": "a", "zh-hant": "b"}]
    sectioned = [{**plain[0], "jurisdictions": {"GB": {"en": "c", "zh-hant": "d"}}}]
    assert disclosure_content_hash(body_en="x", body_zh_hant="y", risk_statements=plain) != \
        disclosure_content_hash(body_en="x", body_zh_hant="y", risk_statements=sectioned)


def test_the_fca_warning_is_on_every_page_showing_rates(client, assets, fund):
    install_rules()
    JurisdictionRule.objects.filter(country="GB").update(assessment_min_risk=None, cooling_off_hours=0)
    product = live_product("USDT", "demand", name_en="USDT Flexible")
    bob = UserFactory(country="GB", display_name="Bob Smith")
    fund(bob, "USDT", "100")
    acknowledge(bob, product)
    position = subscription_create(user=bob, product_id=product.pk, amount="10").position_id
    client.force_login(bob)
    for url in ("/", f"/products/{product.pk}", "/dashboard", f"/positions/{position}"):
        assert PRESCRIBED in client.get(url).content.decode(), url
    client.force_login(UserFactory(country="SG"))
    assert PRESCRIBED not in client.get("/").content.decode()
