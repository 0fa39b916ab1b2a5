"""Product categories: who may be offered what (issue 21). The seeded matrix, the gate's refusal, the catalogue
hiding what a customer may not buy, positions untouched by a rule change, audited edits and the change preview."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.category_selectors import category_access, rule_change_preview
from compliance.gate import blocking_codes
from compliance.models import CategoryRule, CustomerProfile, ProductCategory, Refusal
from compliance.services.rules import CategoryRuleInForce, category_rule_save, category_rule_withdraw
from core.errors import ValidationFailed
from core.models import AuditEvent
from earn.models import Category, Position, PositionStatus
from earn.services.subscriptions import subscription_create
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import Staff, launch_product, live_product, staff_user
from tests.earn.helpers import acknowledge, balance, subscribe_api
from tests.factories import UserFactory, admin_login

pytestmark = [pytest.mark.category_rules]

CATEGORIES = ("lending", "staking", "liquidity_mining", "structured")

# (country, investor class) -> {category: "no" | "yes" | "assessment"} as seeded (compliance.defaults).
SEEDED = {
    ("HK", "retail"): {"lending": "no", "staking": "assessment", "liquidity_mining": "no", "structured": "no"},
    ("HK", "professional"): {"lending": "no", "staking": "yes", "liquidity_mining": "no", "structured": "no"},
    ("GB", "retail"): {"lending": "yes", "staking": "yes", "liquidity_mining": "no", "structured": "no"},
    ("GB", "professional"): {"lending": "yes", "staking": "yes", "liquidity_mining": "yes", "structured": "yes"},
    ("DE", "retail"): {"lending": "no", "staking": "yes", "liquidity_mining": "no", "structured": "no"},
    ("DE", "professional"): {"lending": "yes", "staking": "yes", "liquidity_mining": "yes", "structured": "no"},
    ("SG", "retail"): dict.fromkeys(CATEGORIES, "yes"),  # no rule of its own, no default installed
    ("SG", "professional"): dict.fromkeys(CATEGORIES, "yes"),
}
MATRIX = [(country, klass, category, expected) for (country, klass), row in SEEDED.items()
          for category, expected in row.items()]


def customer(country: str, klass: str, **fields: object):
    user = UserFactory(country=country, professional_investor=False, **fields)
    if klass == "professional":
        CustomerProfile.objects.update_or_create(user=user, defaults={"professional_investor": True,
                                                                      "risk_profile": "high"})
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_compliance_categories_are_earns():
    """Compliance names the categories itself (it sits below earn): the two lists are the same."""
    assert ProductCategory.choices == Category.choices


@pytest.mark.parametrize(("country", "klass", "category", "expected"), MATRIX)
def test_seeded_matrix(db, country, klass, category, expected):
    user = customer(country, klass)
    decision = category_access(user).decision(category)
    assert decision.permitted is (expected != "no")
    assert decision.requires_assessment is (expected == "assessment")
    if country != "SG":  # every seeded row cites its source
        assert decision.rule is not None
        assert CategoryRule.objects.filter(jurisdiction=country, category=category, investor_class=klass).exclude(
            notes="").exists()


@pytest.mark.parametrize(("country", "klass", "category", "expected"), MATRIX)
def test_seeded_matrix_through_the_gate(assets, country, klass, category, expected):
    """The gate's answer for a product of each category (rating 1; acknowledged) agrees with the matrix (GB asks
    every customer for the assessment by its jurisdiction rule, so there it says nothing of the category's)."""
    product = live_product("USDT", category=category, risk_rating=1,
                           **({"strategy": "liquidity_mining"} if category == "liquidity_mining" else {}))
    user = customer(country, klass)
    acknowledge(user, product)
    codes = blocking_codes(user, product)
    assert ("PRODUCT_NOT_PERMITTED" in codes) is (expected == "no")
    if country != "GB":
        assert ("ASSESSMENT_REQUIRED" in codes) is (expected == "assessment")


def test_rules_are_effective_dated_hk_staking_opened_on_7_april_2025(db):
    user = customer("HK", "professional")
    with time_machine.travel(dt.datetime(2025, 4, 6, 15, 59, tzinfo=dt.UTC), tick=False):
        assert not category_access(user).allows("staking", 1)  # 23:59 in Hong Kong, the day before
    with time_machine.travel(dt.datetime(2025, 4, 6, 16, 0, tzinfo=dt.UTC), tick=False):
        assert category_access(user).allows("staking", 1)


def test_unknown_residence_gets_the_default_rules(db):
    """Visitors (and customers whose residence is not verified) get the default `*` rules as retail customers:
    none installed, so everything; a default rule applies to them and to countries without their own rule."""
    from django.contrib.auth.models import AnonymousUser

    officer = staff_user("compliance_officer")
    assert category_access(AnonymousUser()).allows("lending", 5)
    category_rule_save(actor=officer, rule=CategoryRule(jurisdiction="*", category="lending", investor_class="retail",
                                                        permitted=False, notes="default"))
    unverified = UserFactory(country="GB", kyc_status="unverified", professional_investor=False)
    assert not category_access(AnonymousUser()).allows("lending", 1)
    assert not category_access(unverified).allows("lending", 1)
    assert not category_access(customer("SG", "retail")).allows("lending", 1)
    assert category_access(customer("SG", "professional")).allows("lending", 1)
    assert category_access(customer("GB", "professional")).allows("lending", 1)  # GB's own rule wins


# --- the gate ---------------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_gate_refuses_a_subscription_outside_a_wrapping_transaction(assets, fund):
    product = live_product("USDT", category="structured")
    user = customer("GB", "retail")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    response = subscribe_api(client_for(user), product, "100", "k1")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "PRODUCT_NOT_PERMITTED"
    assert "not offered" in body["detail"]
    assert balance(user, "USDT") == Decimal("1000")
    assert not Position.objects.filter(user=user).exists()
    refusal = Refusal.objects.get(user=user)
    assert "PRODUCT_NOT_PERMITTED" in refusal.codes


def test_conditions_max_risk_rating_and_assessment_are_enforced(assets):
    officer = staff_user("compliance_officer")
    low, high = live_product("USDT", category="staking", risk_rating=2), live_product("BTC", category="staking",
                                                                                      risk_rating=3)
    user = customer("SG", "retail")
    for product in (low, high):
        acknowledge(user, product)
    category_rule_save(actor=officer, rule=CategoryRule(jurisdiction="SG", category="staking",
                                                        investor_class="retail", permitted=True, max_risk_rating=2,
                                                        notes="test"))
    assert blocking_codes(user, low) == []
    assert blocking_codes(user, high) == ["PRODUCT_NOT_PERMITTED"]
    with pytest.raises(ValidationFailed) as refused:  # SG has no question bank: nobody could pass
        category_rule_save(actor=officer, rule=CategoryRule(
            jurisdiction="SG", category="staking", investor_class="retail", permitted=True, requires_assessment=True,
            effective_from=timezone.now() + dt.timedelta(days=1), notes="test"))
    assert refused.value.field == "requires_assessment"


def test_launch_commitments_are_refused_too(assets, fund):
    from earn.errors import SubscriptionRefused
    from earn.services.launch import commitment_create

    product = launch_product("USDT", quota="1000", category="lending")
    user = customer("DE", "retail")
    fund(user, "USDT", "1000")
    acknowledge(user, product)

    with pytest.raises(SubscriptionRefused) as refused:
        commitment_create(user=user, product_id=product.pk, amount="100")
    assert refused.value.codes == ["PRODUCT_NOT_PERMITTED"]
    assert balance(user, "USDT") == Decimal("1000")


# --- existing positions are never closed ----------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_rule_change_leaves_positions_open_and_redeemable(assets, fund):
    officer = staff_user("compliance_officer")
    product = live_product("USDT", category="staking")
    user = customer("DE", "retail")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    subscription_create(user=user, product_id=product.pk, amount="300")
    category_rule_save(actor=officer, rule=CategoryRule(jurisdiction="DE", category="staking",
                                                        investor_class="retail", permitted=False, notes="stop"))
    position = Position.objects.get(user=user)
    assert position.status == PositionStatus.ACTIVE and position.principal == Decimal("300")
    client = client_for(user)
    assert subscribe_api(client, product, "100", "more").json()["code"] == "PRODUCT_NOT_PERMITTED"
    # The holder still sees their product (not in the list: they may not buy more) and redeems as before.
    assert client.get(f"/api/v1/products/{product.pk}").status_code == 200
    assert product.pk not in [p["id"] for p in client.get("/api/v1/products").json()["results"]]
    done = client.post(f"/api/v1/positions/{position.pk}/redemptions", {"amount": "100", "mode": "fast"},
                       format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert done.status_code == 201, done.json()
    assert balance(user, "USDT") == Decimal("800")
    assert Position.objects.get(pk=position.pk).principal == Decimal("200")
    assert ledger_reconcile().ok


# --- the catalogue ------------------------------------------------------------------------------------------------

def test_the_catalogue_hides_what_the_customer_may_not_buy_and_answers_404(assets, django_assert_max_num_queries):
    lending = live_product("USDT", category="lending")
    staking = live_product("ETH", category="staking")
    retail, pro = client_for(customer("DE", "retail")), client_for(customer("DE", "professional"))
    retail.get("/api/v1/products")  # the first view of Earn is recorded (GB's cooling-off): not a list's cost
    with django_assert_max_num_queries(8):
        listed = retail.get("/api/v1/products")
    assert [(p["id"], p["category"]) for p in listed.json()["results"]] == [(staking.pk, "staking")]
    assert retail.get(f"/api/v1/products/{lending.pk}").status_code == 404
    assert retail.get(f"/api/v1/products/{staking.pk}").status_code == 200
    assert [p["id"] for p in pro.get("/api/v1/products").json()["results"]] == [lending.pk, staking.pk]
    assert pro.get(f"/api/v1/products/{lending.pk}").status_code == 200


def test_the_catalogue_list_costs_the_same_for_many_products(assets, django_assert_max_num_queries):
    client = client_for(customer("DE", "retail"))
    live_product("USDT", category="staking")
    client.get("/api/v1/products")  # the first view of Earn is recorded once
    with django_assert_max_num_queries(8) as few:
        client.get("/api/v1/products")
    for asset in ("BTC", "ETH", "USDC"):
        live_product(asset, category="staking")
        live_product(asset, "fixed", category="lending")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/api/v1/products").json()["results"]) == 4


def test_the_portal_catalogue_hides_it_and_its_page_is_404(assets):
    lending = live_product("USDT", category="lending", name_en="Lend USDT")
    staking = live_product("ETH", category="staking", name_en="Stake ETH")
    client = Client()
    client.force_login(customer("DE", "retail"))
    home = client.get("/").content.decode()
    assert "Stake ETH" in home and "Lend USDT" not in home and "· Staking" in home
    assert client.get(f"/products/{lending.pk}").status_code == 404
    assert client.get(f"/products/{lending.pk}/subscribe").status_code == 404
    assert client.get(f"/products/{staking.pk}").status_code == 200


# --- officers' edits: versions, audit, preview ---------------------------------------------------------------------

def test_a_rule_in_force_is_never_edited_and_every_change_is_audited(db):
    officer = staff_user("compliance_officer")
    in_force = CategoryRule.objects.get(jurisdiction="DE", category="lending", investor_class="retail")
    in_force.permitted = True
    with pytest.raises(CategoryRuleInForce):
        category_rule_save(actor=officer, rule=in_force)
    with pytest.raises(CategoryRuleInForce):
        category_rule_withdraw(actor=officer, rule=in_force.pk)
    later = timezone.now() + dt.timedelta(days=30)
    scheduled = category_rule_save(actor=officer, rule=CategoryRule(
        jurisdiction="de", category="lending", investor_class="retail", permitted=True, effective_from=later,
        notes="BaFin opinion"))
    created = AuditEvent.objects.get(action="category_rule.create")
    assert (created.actor_id, created.after["jurisdiction"], created.after["permitted"]) == (officer.pk, "DE", True)
    scheduled.max_risk_rating = 3
    category_rule_save(actor=officer, rule=scheduled)
    changed = AuditEvent.objects.get(action="category_rule.change")
    assert (changed.before["max_risk_rating"], changed.after["max_risk_rating"]) == (None, 3)
    user = customer("DE", "retail")
    assert not category_access(user).allows("lending", 1)
    with time_machine.travel(later + dt.timedelta(seconds=1), tick=False):
        assert category_access(user).allows("lending", 3) and not category_access(user).allows("lending", 4)
    category_rule_withdraw(actor=officer, rule=scheduled.pk)
    assert AuditEvent.objects.get(action="category_rule.withdraw").before["max_risk_rating"] == 3
    with pytest.raises(ValidationFailed):  # the past is not rewritten either
        category_rule_save(actor=officer, rule=CategoryRule(
            jurisdiction="DE", category="lending", investor_class="retail", permitted=True,
            effective_from=timezone.now() - dt.timedelta(days=1), notes="x"))


def test_the_database_refuses_malformed_rules(db):
    from django.db import IntegrityError, transaction

    base = {"category": "lending", "investor_class": "retail", "effective_from": timezone.now(), "notes": "n"}
    for bad in ({"jurisdiction": "gb", "permitted": True}, {"jurisdiction": "**", "permitted": True},
                {"jurisdiction": "DE", "permitted": False, "max_risk_rating": 2},
                {"jurisdiction": "DE", "permitted": True, "max_risk_rating": 6},
                {"jurisdiction": "DE", "permitted": True, "notes": ""},
                {"jurisdiction": "DE", "permitted": True, "investor_class": "whale"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            CategoryRule.objects.create(**{**base, **bad})


def _holdings(assets, fund):
    """DE retail: three customers, one holding two lending lots and one a staking position; a DE professional
    and an HK retail customer holding lending too (not reached by a DE retail rule)."""
    lending = live_product("USDT", "fixed", category="lending")
    staking = live_product("ETH", category="staking")
    officer = staff_user("compliance_officer")
    # Open the positions first, with no rule in the way (DE lending is refused to retail by the seeds).
    CategoryRule.objects.filter(category="lending").delete()
    holders = {"gb1": customer("DE", "retail"), "gb2": customer("DE", "retail"), "gb3": customer("DE", "retail"),
               "pro": customer("DE", "professional"), "hk": customer("HK", "retail")}
    for user in holders.values():
        fund(user, "USDT", "1000")
        fund(user, "ETH", "10")
        acknowledge(user, lending)
        acknowledge(user, staking)
    for _ in range(2):
        subscription_create(user=holders["gb1"], product_id=lending.pk, amount="100")
    subscription_create(user=holders["gb2"], product_id=staking.pk, amount="1")
    subscription_create(user=holders["pro"], product_id=lending.pk, amount="100")
    CustomerProfile.objects.filter(user=holders["hk"]).update(risk_profile="high", net_worth_usd=Decimal("1000000"))
    from compliance.services.rules import rules_install_defaults

    rules_install_defaults()  # the seeds back: DE retail lending refused from 30 December 2024
    return lending, staking, officer, holders


def test_the_preview_counts_customers_and_positions_a_change_reaches(assets, fund):
    lending, staking, officer, holders = _holdings(assets, fund)
    stop_staking = rule_change_preview(jurisdiction="DE", category="staking", investor_class_="retail",
                                       permitted=False, max_risk_rating=None, requires_assessment=False,
                                       effective_from=timezone.now())
    assert (stop_staking["customers"], stop_staking["customers_holding"], stop_staking["open_positions"]) == (3, 1, 1)
    assert stop_staking["newly_refused_products"] == [staking]
    open_lending = rule_change_preview(jurisdiction="DE", category="lending", investor_class_="retail",
                                       permitted=True, max_risk_rating=None, requires_assessment=False,
                                       effective_from=timezone.now())
    assert (open_lending["customers"], open_lending["customers_holding"], open_lending["open_positions"]) == (3, 1, 2)
    assert (open_lending["newly_refused_products"], open_lending["newly_offered_products"]) == ([], [lending])
    pro = rule_change_preview(jurisdiction="DE", category="lending", investor_class_="professional",
                              permitted=False, max_risk_rating=None, requires_assessment=False,
                              effective_from=timezone.now())
    assert (pro["customers"], pro["customers_holding"], pro["open_positions"]) == (1, 1, 1)
    assert pro["newly_refused_products"] == [lending]
    # The default reaches only countries without a rule of their own (SG here), never staff.
    customer("SG", "retail")
    default = rule_change_preview(jurisdiction="*", category="lending", investor_class_="retail", permitted=False,
                                  max_risk_rating=None, requires_assessment=False, effective_from=timezone.now())
    assert (default["customers"], default["customers_holding"], default["open_positions"]) == (1, 0, 0)
    assert default["newly_refused_products"] == [lending]


def test_the_admin_shows_the_preview_before_saving_then_saves_audited(assets, fund):
    lending, staking, officer, holders = _holdings(assets, fund)
    client = admin_login(Client(), officer)
    form = {"jurisdiction": "DE", "category": "staking", "investor_class": "retail", "notes": "BaFin opinion",
            "effective_from_0": "", "effective_from_1": "", "_save": "Save"}
    preview = client.post("/admin/compliance/categoryrule/add/", form)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'id="preview-customers">3<' in html
    assert 'id="preview-customers-holding">1<' in html and 'id="preview-positions">1<' in html
    assert staking.name_en in html and 'name="_confirmed"' in html
    assert not AuditEvent.objects.filter(action="category_rule.create").exists()  # nothing saved yet
    done = client.post("/admin/compliance/categoryrule/add/", {**form, "_confirmed": "1"})
    assert done.status_code == 302, done.content.decode()[:3000]
    rule = CategoryRule.objects.get(jurisdiction="DE", category="staking", investor_class="retail",
                                    created_by=officer)
    assert rule.permitted is False
    assert AuditEvent.objects.get(action="category_rule.create").object_id == str(rule.pk)
    assert Position.objects.filter(user=holders["gb2"], status=PositionStatus.ACTIVE).count() == 1
    in_force = client.get(f"/admin/compliance/categoryrule/{rule.pk}/change/").content.decode()
    assert 'name="_save"' not in in_force  # read-only once in force


def test_only_compliance_officers_edit_category_rules(db):
    staff = Staff()
    assert admin_login(Client(), staff.curator).get("/admin/compliance/categoryrule/").status_code == 403
    assert admin_login(Client(), staff.compliance).get("/admin/compliance/categoryrule/").status_code == 200
    assert admin_login(Client(), staff.compliance).get("/admin/compliance/categoryrule/add/").status_code == 200


def test_customers_other_staff_and_staff_without_2fa_neither_see_nor_change_category_rules(db):
    """The list, the add page and a confirmed POST: signed out or a customer → the sign-in, a staff member without
    a verified second factor → not the page, a curator → 403; nothing is saved or audited."""
    form = {"jurisdiction": "DE", "category": "staking", "investor_class": "retail", "notes": "n",
            "effective_from_0": "", "effective_from_1": "", "_save": "Save", "_confirmed": "1"}
    signed_in = Client()
    signed_in.force_login(UserFactory(email="alice@de.example", country="DE"))
    no_2fa = Client()
    no_2fa.force_login(staff_user("compliance_officer", email="co-no-2fa@earn.example"))
    curator = admin_login(Client(), staff_user("curator", email="cu@earn.example"))
    for who, client, refused in (("anonymous", Client(), {302}), ("customer", signed_in, {302}),
                                 ("no 2FA", no_2fa, {302, 403}), ("curator", curator, {403})):
        for response in (client.get("/admin/compliance/categoryrule/"),
                         client.get("/admin/compliance/categoryrule/add/"),
                         client.post("/admin/compliance/categoryrule/add/", form)):
            assert response.status_code in refused, (who, response.status_code)
    assert not CategoryRule.objects.filter(created_by__isnull=False).exists()  # the seeded rules only
    assert not AuditEvent.objects.filter(action__startswith="category_rule.").exists()


def test_compliance_status_leaves_out_products_not_offered(assets):
    lending = live_product("USDT", category="lending")
    staking = live_product("ETH", category="staking")
    answer = client_for(customer("DE", "retail")).get("/api/v1/compliance/status").json()
    assert [row["product"] for row in answer] == [staking.pk]
    assert lending.pk in [row["product"] for row in client_for(customer("DE", "professional"))
                          .get("/api/v1/compliance/status").json()]


def test_a_holder_meets_the_refusal_with_its_reason_in_the_portal(assets, fund):
    officer = staff_user("compliance_officer")
    product = live_product("USDT", category="staking")
    user = customer("DE", "retail")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    subscription_create(user=user, product_id=product.pk, amount="100")
    category_rule_save(actor=officer, rule=CategoryRule(jurisdiction="DE", category="staking",
                                                        investor_class="retail", permitted=False, notes="stop"))
    client = Client()
    client.force_login(user)
    page = client.get(f"/products/{product.pk}/subscribe")
    assert page.status_code == 200
    assert "not offered to customers of your country of residence" in page.content.decode()
    zh = client.get(f"/products/{product.pk}/subscribe", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert "此產品不向您的居住國家或地區及投資者類別的客戶提供" in zh.content.decode()
    assert Refusal.objects.filter(user=user, reason="PRODUCT_NOT_PERMITTED").count() == 1  # logged once a day


def test_hostile_rule_input_is_a_form_error_not_a_preview(db):
    client = admin_login(Client(), staff_user("compliance_officer"))
    for bad in ({"jurisdiction": "G1"}, {"jurisdiction": "<script>"}, {"max_risk_rating": "9"},
                {"category": "casino"}, {"permitted": "", "max_risk_rating": "2"},
                {"effective_from_0": "2020-01-01", "effective_from_1": "00:00:00"}):
        form = {"jurisdiction": "DE", "category": "staking", "investor_class": "retail", "permitted": "on",
                "notes": "n", "effective_from_0": "", "effective_from_1": "", "_save": "Save", **bad}
        response = client.post("/admin/compliance/categoryrule/add/", {k: v for k, v in form.items() if v != ""})
        assert response.status_code == 200
        html = response.content.decode()
        assert 'name="_confirmed"' not in html and "errornote" in html, bad
    assert not CategoryRule.objects.filter(created_by__isnull=False).exists()


def test_a_pool_deposit_is_refused_and_the_pool_is_not_listed(assets, fund):
    from pools.models import PoolPosition
    from tests.pools.factories import pool_product

    pool = pool_product("BTC", "USDT")
    user = customer("DE", "retail")
    fund(user, "USDT", "1000")
    acknowledge(user, pool.product)
    client = client_for(user)
    response = client.post("/api/v1/subscriptions", {"product": pool.product_id, "amount": "100"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="lm1")
    assert response.status_code == 403 and response.json()["code"] == "PRODUCT_NOT_PERMITTED"
    assert not PoolPosition.objects.filter(user=user).exists()
    assert balance(user, "USDT") == Decimal("1000")
    assert client.get("/api/v1/products").json()["results"] == []
    assert client_for(customer("DE", "professional")).get(f"/api/v1/products/{pool.product_id}").status_code == 200


def test_a_rule_change_lets_a_fixed_position_mature_but_not_renew(assets, fund):
    """Auto-renew is a new subscription: the position runs to maturity and earns, then the principal returns."""
    from earn.services import accrual
    from earn.services.settlement import settle
    from ledger.models import AccountKind

    product = live_product("ETH", "fixed", term_days=2, tiers=[(0, None, "0.365")], payout="at_maturity",
                           auto_renew_allowed=True, category="staking")
    user = customer("DE", "retail")
    fund(user, "ETH", "10")
    acknowledge(user, product)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        sub = subscription_create(user=user, product_id=product.pk, amount="10", auto_renew=True)
        category_rule_save(actor=staff_user("compliance_officer"), rule=CategoryRule(
            jurisdiction="DE", category="staking", investor_class="retail", permitted=False, notes="stop"))
    with time_machine.travel(dt.datetime(2026, 3, 4, 0, 5, tzinfo=dt.UTC), tick=False):
        accrual.accrue_pending()
        result = settle()
    assert (result.positions_matured, result.positions_renewed) == (1, 0)
    position = Position.objects.get(pk=sub.position_id)
    assert position.status == PositionStatus.MATURED
    assert Position.objects.filter(user=user).count() == 1  # no renewal opened
    assert balance(user, "ETH") == Decimal("10.02")  # principal and its two days of interest
    assert balance(user, "ETH", AccountKind.EARN) == Decimal("0")
    assert ledger_reconcile().ok


def test_the_admin_withdraws_a_scheduled_version_audited_but_never_one_in_force(db):
    officer = staff_user("compliance_officer")
    client = admin_login(Client(), officer)
    scheduled = category_rule_save(actor=officer, rule=CategoryRule(
        jurisdiction="DE", category="staking", investor_class="retail", permitted=False,
        effective_from=timezone.now() + dt.timedelta(days=7), notes="BaFin opinion"))
    in_force = CategoryRule.objects.get(jurisdiction="DE", category="lending", investor_class="retail")
    assert client.post(f"/admin/compliance/categoryrule/{in_force.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/compliance/categoryrule/{scheduled.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not CategoryRule.objects.filter(pk=scheduled.pk).exists()
    assert AuditEvent.objects.get(action="category_rule.withdraw").object_id == str(scheduled.pk)
    listing = client.get("/admin/compliance/categoryrule/?jurisdiction=DE").content.decode()
    assert "DE" in listing and "in force or superseded" in listing


def test_the_admin_previews_a_change_of_a_scheduled_version_then_audits_it(db):
    officer = staff_user("compliance_officer")
    later = timezone.now() + dt.timedelta(days=7)
    scheduled = category_rule_save(actor=officer, rule=CategoryRule(
        jurisdiction="DE", category="staking", investor_class="retail", permitted=False, effective_from=later,
        notes="BaFin opinion"))
    customer("DE", "retail")
    client = admin_login(Client(), officer)
    assert client.get(f"/admin/compliance/categoryrule/{scheduled.pk}/change/").status_code == 200
    form = {"jurisdiction": "DE", "category": "staking", "investor_class": "retail", "permitted": "on",
            "max_risk_rating": "3", "notes": "BaFin opinion, revised",
            "effective_from_0": later.strftime("%Y-%m-%d"), "effective_from_1": later.strftime("%H:%M:%S"),
            "_save": "Save"}
    preview = client.post(f"/admin/compliance/categoryrule/{scheduled.pk}/change/", form)
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="preview-customers">1<' in html and "risk rating 3 or lower" in html
    done = client.post(f"/admin/compliance/categoryrule/{scheduled.pk}/change/", {**form, "_confirmed": "1"})
    assert done.status_code == 302, done.content.decode()[:2000]
    event = AuditEvent.objects.get(action="category_rule.change")
    assert (event.before["permitted"], event.after["permitted"], event.after["max_risk_rating"]) == (False, True, 3)


def test_the_pool_list_and_pool_pages_follow_the_catalogue(assets):
    from tests.pools.factories import pool_product

    pool = pool_product("BTC", "USDT")
    retail, pro = client_for(customer("DE", "retail")), client_for(customer("DE", "professional"))
    assert retail.get("/api/v1/pools").json()["results"] == []
    assert [p["product"] for p in pro.get("/api/v1/pools").json()["results"]] == [pool.product_id]
    assert retail.get(f"/api/v1/products/{pool.product_id}/pool").status_code == 404
    assert pro.get(f"/api/v1/products/{pool.product_id}/pool").status_code == 200
    # The outcome simulator, the IL chart and a launch of a category not offered are 404 too, not a way round it.
    for path in (f"/api/v1/products/{pool.product_id}/simulation", f"/api/v1/products/{pool.product_id}/pool/il.svg"):
        assert retail.get(path).status_code == 404, path
    assert pro.get(f"/api/v1/products/{pool.product_id}/simulation").status_code == 409  # offered; no prices yet
    launch = launch_product("USDT", category="lending")  # DE retail lending: not offered (the seeds)
    assert retail.get(f"/api/v1/products/{launch.pk}/launch").status_code == 404
    assert pro.get(f"/api/v1/products/{launch.pk}/launch").status_code == 200


def test_a_launch_not_offered_is_404_but_a_customer_who_committed_before_the_rule_keeps_it(assets, fund):
    from earn.services.launch import commitment_create

    officer = staff_user("compliance_officer")
    launch = launch_product("USDT", category="staking", quota="1000")
    early, late = customer("DE", "retail"), customer("DE", "retail")
    fund(early, "USDT", "500")
    acknowledge(early, launch)
    commitment_create(user=early, product_id=launch.pk, amount="100")
    category_rule_save(actor=officer, rule=CategoryRule(jurisdiction="DE", category="staking",
                                                        investor_class="retail", permitted=False, notes="stop"))
    assert client_for(late).get(f"/api/v1/products/{launch.pk}/launch").status_code == 404
    own = client_for(early).get(f"/api/v1/products/{launch.pk}/launch")
    assert own.status_code == 200 and own.json()["your_committed"] == "100.00000000"
