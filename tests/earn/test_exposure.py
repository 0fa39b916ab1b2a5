"""Issue 21 item 4: exposure per venue, protocol and counterparty against limits (figures worked by hand), the
limits' audited writes and the database's own rules for them and for the new vetting fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditEvent
from core.errors import PermissionDenied, ValidationFailed
from earn.models import ExposureLimit, Product
from earn.selectors.exposure import exposure_report
from earn.services.exposure_limits import exposure_limit_delete, exposure_limit_save
from earn.services.product_lifecycle import product_create
from earn.services.subscriptions import subscription_create
from pools.services.deposits import pool_deposit_create
from pricing.services import price_record
from tests.earn.factories import VETTING, live_product, staff_user
from tests.earn.helpers import acknowledge
from tests.factories import AssetFactory
from tests.pools.factories import pool_product, ready_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(user_factory, fund):
    """BTC 60 000 and USDT 1 USD (pool factory prices). Venues:
    - "Aave v3": USDT lending 40 000 (of which 1 000 a real subscription) + BTC staking 0.5 BTC = 30 000 → 70 000
    - "OTC desk": USDT lending to Wintermute, 10 000 → 10 000 (counterparty Wintermute 10 000)
    - "Uniswap v2": a BTC/USDT pool holding 1 BTC + 60 000 USDT → 120 000
    """
    pool = pool_product()
    lp = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
    pool_deposit_create(user=lp, product_id=pool.product_id, amount="1")
    aave_usdt = live_product("USDT", venue="Aave v3", name_en="USDT Aave", sold_amount="39000")
    saver = user_factory(country="SG")
    fund(saver, "USDT", "1000")
    acknowledge(saver, aave_usdt)
    subscription_create(user=saver, product_id=aave_usdt.pk, amount="1000")
    aave_btc = live_product("BTC", venue="AAVE V3", name_en="BTC staking", category="staking", sold_amount="0.5")
    desk = live_product("USDT", "fixed", venue="OTC desk", counterparty="Wintermute", name_en="USDT desk",
                        sold_amount="10000")
    closed = live_product("USDT", venue="Gone venue", name_en="closed")
    Product.objects.filter(pk=closed.pk).update(status="closed")
    return {"pool": pool, "aave_usdt": aave_usdt, "aave_btc": aave_btc, "desk": desk}


def _group(groups, name):
    return next(g for g in groups if g.name.lower() == name.lower())


def _limit(kind, name, usd, actor=None):
    return exposure_limit_save(actor=actor or staff_user("compliance_officer"), kind=kind, name=name, limit_usd=usd)


def test_exposure_per_venue_and_counterparty_worked(book):
    _limit("venue", "aave v3", "60000")
    _limit("venue", "Uniswap V2", "200000")
    _limit("counterparty", "wintermute", "50000")
    report = exposure_report()
    aave = _group(report.venues, "Aave v3")
    assert aave.name == "aave v3"  # the limit's spelling names the group; case is ignored in matching
    assert aave.exposure_usd == Decimal("70000.00")  # 40 000 USDT + 0.5 BTC × 60 000
    assert {p.name: p.exposure_usd for p in aave.products} == {"USDT Aave": Decimal("40000.00"),
                                                               "BTC staking": Decimal("30000.00")}
    assert aave.utilisation == Decimal("1.1667") and aave.breach  # 70 000 / 60 000
    uni = _group(report.venues, "Uniswap v2")
    assert uni.exposure_usd == Decimal("120000.00") and uni.utilisation == Decimal("0.6000") and not uni.breach
    assert uni.products[0].holdings == {"BTC": Decimal("1"), "USDT": Decimal("60000")}
    desk = _group(report.venues, "OTC desk")
    assert desk.limit is None and desk.utilisation is None and not desk.breach
    winter = _group(report.counterparties, "Wintermute")
    assert winter.exposure_usd == Decimal("10000.00") and winter.utilisation == Decimal("0.2000")
    assert [g.name for g in report.counterparties] == ["wintermute"]  # only products naming one
    assert report.total_usd == Decimal("200000.00")
    assert [g.name for g in report.breaches] == ["aave v3"]
    assert report.venues[0].name == "aave v3"  # breaches first, then by size
    assert not any(g.name == "Gone venue" for g in report.venues)  # closed and empty: not shown


def test_prices_move_the_figures_and_a_missing_price_is_flagged(book):
    _limit("venue", "Aave v3", "100000")
    price_record(asset_code="BTC", price_usd="120000", source="test")
    aave = _group(exposure_report().venues, "Aave v3")
    assert aave.exposure_usd == Decimal("100000.00") and not aave.breach  # at the limit is not past it
    price_record(asset_code="BTC", price_usd="120000.02", source="test")
    assert _group(exposure_report().venues, "Aave v3").breach
    AssetFactory(code="XYZ")
    live_product("XYZ", venue="Aave v3", name_en="XYZ lending", sold_amount="5")
    aave = _group(exposure_report().venues, "Aave v3")
    assert aave.unpriced and next(p for p in aave.products if p.name == "XYZ lending").exposure_usd is None


def test_the_report_costs_the_same_queries_however_many_venues(book):
    with CaptureQueriesContext(connection) as few:
        exposure_report()
    for n in range(12):
        live_product("USDT", venue=f"Venue {n}", counterparty=f"Borrower {n}", name_en=f"P{n}", sold_amount="10")
        _limit("venue", f"Venue {n}", "1000")
        pool_product("ETH", "USDT", reward=None)
    with CaptureQueriesContext(connection) as many:
        report = exposure_report()
    assert len(report.venues) > 12 and len(many) == len(few) <= 4


def test_limits_are_audited_and_unique_by_name(book):
    officer = staff_user("compliance_officer")
    limit = _limit("venue", "Aave v3", "60000", actor=officer)
    created = AuditEvent.objects.get(action="exposure_limit.create")
    assert created.actor_id == officer.pk and created.after["limit_usd"] == "60000"
    ops = staff_user("operations")
    exposure_limit_save(actor=ops, kind="venue", name="Aave v3", limit_usd="80000", note="board 2026-11", limit=limit)
    change = AuditEvent.objects.get(action="exposure_limit.change")
    assert change.before["limit_usd"] == "60000" and change.after["limit_usd"] == "80000"
    assert change.after["note"] == "board 2026-11" and change.actor_id == ops.pk
    with pytest.raises(ValidationFailed):
        _limit("venue", "  AAVE   v3 ", "1")  # the same venue, spelt otherwise
    for bad in ("0", "-5", "abc", "1e30"):
        with pytest.raises(ValidationFailed):
            _limit("venue", "Other", bad)
    with pytest.raises(ValidationFailed):
        _limit("borrower", "Other", "5")
    with pytest.raises(PermissionDenied):
        _limit("venue", "Other", "5", actor=staff_user("curator"))
    exposure_limit_delete(actor=ops, limit=limit)
    gone = AuditEvent.objects.get(action="exposure_limit.delete")
    assert gone.before["limit_usd"] == "80000" and not ExposureLimit.objects.exists()


@pytest.mark.parametrize("values", [
    {"limit_usd": Decimal(0)}, {"name": " padded"}, {"name": ""}, {"kind": "borrower"},
])
def test_the_database_refuses_bad_limits(values):
    user = staff_user("operations")
    row = {"kind": "venue", "name": "Aave", "limit_usd": Decimal(5), "updated_by": user} | values
    with pytest.raises(IntegrityError), transaction.atomic():
        ExposureLimit.objects.create(**row)


def test_the_database_refuses_a_second_limit_differing_in_case():
    user = staff_user("operations")
    ExposureLimit.objects.create(kind="venue", name="Aave", limit_usd=5, updated_by=user)
    ExposureLimit.objects.create(kind="counterparty", name="Aave", limit_usd=5, updated_by=user)  # another kind
    with pytest.raises(IntegrityError), transaction.atomic():
        ExposureLimit.objects.create(kind="venue", name="AAVE", limit_usd=5, updated_by=user)


@pytest.mark.parametrize("fields", [
    {"category": "staking", "counterparty": "Wintermute"},
    {"category": "lending", "il_alert_threshold": Decimal("0.05")},
    {"strategy": "liquidity_mining", "category": "liquidity_mining", "il_alert_threshold": Decimal("1")},
    {"strategy": "liquidity_mining", "category": "liquidity_mining", "il_alert_threshold": Decimal("0")},
])
def test_the_database_refuses_vetting_out_of_scope(assets, fields):
    product = live_product("USDT")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(**fields)


def test_the_service_checks_the_new_vetting_fields(assets):
    curator = staff_user("curator")
    base = {"name_en": "x", "name_zh_hant": "x", "asset": "USDT", "term_type": "demand", "risk_rating": 2, **VETTING}
    lent = product_create(actor=curator, counterparty="  Wintermute ", **base)
    assert lent.counterparty == "Wintermute"
    with pytest.raises(ValidationFailed) as refused:
        product_create(actor=curator, category="staking", counterparty="Lido", **base)
    assert refused.value.field == "counterparty"
    with pytest.raises(ValidationFailed) as refused:
        product_create(actor=curator, il_alert_threshold="0.05", **base)
    assert refused.value.field == "il_alert_threshold"
    pool = product_create(actor=curator, **{**base, "strategy": "liquidity_mining"}, il_alert_threshold="0.08")
    assert pool.il_alert_threshold == Decimal("0.08")
    with pytest.raises(ValidationFailed):
        product_create(actor=curator, **{**base, "strategy": "liquidity_mining"}, il_alert_threshold="1.5")


def test_the_staff_api_takes_and_shows_the_new_vetting_fields(assets):
    from rest_framework.test import APIClient

    from tests.earn.factories import Staff
    from tests.earn.test_products_api import DRAFT_BODY

    staff = Staff()
    client = APIClient()
    client.force_authenticate(staff.curator)
    body = {**DRAFT_BODY, "vetting": {**DRAFT_BODY["vetting"], "counterparty": "Wintermute"}}
    created = client.post("/api/v1/staff/products", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["counterparty"] == "Wintermute" and created.json()["il_alert_threshold"] is None
    pool = {**DRAFT_BODY, "strategy": "liquidity_mining",
            "vetting": {**DRAFT_BODY["vetting"], "il_alert_threshold": "0.08"}}
    created = client.post("/api/v1/staff/products", pool, format="json")
    assert created.status_code == 201 and created.json()["il_alert_threshold"] == "0.08"
    for bad, field in ((0.05, "vetting.il_alert_threshold"), ("2", "il_alert_threshold"),
                       ("abc", "vetting.il_alert_threshold")):
        refused = client.post("/api/v1/staff/products",
                              {**pool, "vetting": {**pool["vetting"], "il_alert_threshold": bad}}, format="json")
        assert refused.status_code == 400 and refused.json()["field"] == field
    refused = client.post("/api/v1/staff/products", {**body, "category": "staking"}, format="json")
    assert refused.status_code == 400 and refused.json()["field"] == "counterparty"
