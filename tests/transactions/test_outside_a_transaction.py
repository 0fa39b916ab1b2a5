"""Every mutating API endpoint and every portal POST, called with no transaction around the test.

Ordinary tests run inside a transaction, so a service that locks rows (`select_for_update`) without
its own `transaction.atomic` passes them and answers 500 in production (`PATCH /positions/{id}
{"auto_compound": true}` did). Here each call runs as in production: autocommit, the service's own
transaction or none. Each case sends valid input, expects the success status and checks the state
it left in the database.

The table is complete by construction: `test_every_mutating_route_has_a_case` walks the URLconf and
fails naming any API route with a POST/PUT/PATCH/DELETE handler, or any portal route accepting POST,
that has no case here. Adding a route means adding one entry: `@case("url-name", "METHOD")` on a
function that gets the `World` and returns a `Call` (and checks its outcome in `check`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from compliance.models import Acknowledgement, AssessmentAttempt, Complaint, CustomerProfile, Disclosure
from compliance.services.disclosures import disclosure_approve, disclosure_draft
from core.models import IdempotencyRecord
from earn.models import LaunchCommitment, Position, Product, ProductTerms, Redemption, Subscription
from earn.services import terms as product_services
from earn.services.subscriptions import subscription_create
from notifications.models import Notification
from pools.models import PoolDeposit, PoolPosition, PoolWithdrawal
from pools.services.deposits import pool_deposit_create
from tests.earn.factories import (
    Staff,
    complete_sections,
    launch_product,
    live_product,
    product_in_status,
    staff_user,
)
from tests.earn.helpers import acknowledge, balance
from tests.factories import OtpClient, UserFactory, totp_code
from tests.pools.factories import pool_product

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase-9"
DRAFT_BODY = {
    "name_en": "USDT Flexible Savings", "name_zh_hant": "USDT 活期理財", "asset": "USDT", "term_type": "demand",
    "strategy": "simple", "risk_rating": 2,
    "vetting": {"venue": "Treasury lending desk", "yield_source": "Over-collateralised institutional loans.",
                "risk_rationale": "Short-dated and over-collateralised."},
    "terms": {"min_amount": "10", "total_cap": "5000000", "redemption_modes": ["fast", "standard"]},
    "tiers": [{"lower": "0", "upper": None, "apr": "0.06"}],
}

# Routes outside the layer, each with the reason. Only routes that cannot change state belong here.
NOT_MUTATING: dict[str, str] = {}


class World:
    """What the cases act on, made on first use (each test has its own, in an empty database)."""

    def __init__(self, assets: dict) -> None:
        self.assets = assets
        self.staff = Staff()
        self.alice = UserFactory(email="alice@outside.example", country="SG")
        self.alice.set_password(PASSWORD)
        self.alice.save()
        from ledger.services import deposit_credit

        for asset, amount in (("USDT", "10000"), ("BTC", "1")):
            deposit_credit(user_id=self.alice.pk, asset=asset, amount=Decimal(amount),
                           reference=f"outside-{asset}")

    def api(self, user: Any) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    def browser(self, user: Any | None = None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    @cached_property
    def demand(self) -> Product:
        product = live_product("USDT", "demand", tiers=[(0, None, "0.05")], min_amount="1")
        acknowledge(self.alice, product)
        return product

    @cached_property
    def fixed(self) -> Product:
        product = live_product("USDT", "fixed", term_days=30, auto_renew_allowed=True, min_amount="1")
        acknowledge(self.alice, product)
        return product

    @cached_property
    def launch(self) -> Product:
        product = launch_product("USDT", min_lot="1")
        acknowledge(self.alice, product)
        return product

    @cached_property
    def position(self) -> Position:
        return subscription_create(user=self.alice, product_id=self.demand.pk, amount="500").position

    @cached_property
    def fixed_position(self) -> Position:
        return subscription_create(user=self.alice, product_id=self.fixed.pk, amount="500").position

    @cached_property
    def pool(self) -> Any:
        pool = pool_product("BTC", "USDT")
        acknowledge(self.alice, pool.product)
        return pool

    @cached_property
    def pool_position(self) -> PoolPosition:
        deposit = pool_deposit_create(user=self.alice, product_id=self.pool.product_id, amount="0.01", asset="BTC")
        return PoolPosition.objects.get(pk=deposit.position_id)

    def product_in(self, status: str) -> Product:
        return product_in_status(status, self.staff)


@dataclass
class Call:
    client: Any
    path: str
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    json: bool = True  # API calls send JSON; portal forms are form-encoded
    status: int = 200
    check: Callable[[Any], None] | None = None  # gets the response; asserts the state left behind


CASES: dict[tuple[str, str], Callable[[World], Call]] = {}


def case(route: str, method: str) -> Callable:
    def register(make: Callable[[World], Call]) -> Callable[[World], Call]:
        CASES[(route, method.upper())] = make
        return make
    return register


def key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


# --- API: customers -----------------------------------------------------------------------------------

@case("auth-token", "POST")
def _(w: World) -> Call:
    return Call(APIClient(), "/api/v1/auth/token", {"email": w.alice.email, "password": PASSWORD},
                check=lambda r: r.json()["token"])


@case("subscription-preview", "POST")
def _(w: World) -> Call:
    return Call(w.api(w.alice), "/api/v1/subscriptions/preview", {"product": w.demand.pk, "amount": "100"},
                check=lambda r: r.json()["apr"] == "0.05" and not Subscription.objects.exists())


@case("subscription-create", "POST")
def _(w: World) -> Call:
    def check(r: Any) -> None:
        assert Subscription.objects.get(pk=r.json()["id"]).amount == 100
        assert balance(w.alice, "USDT") == 9900
    return Call(w.api(w.alice), "/api/v1/subscriptions", {"product": w.demand.pk, "amount": "100"}, key(),
                status=201, check=check)


@case("commitment-list", "POST")
def _(w: World) -> Call:
    def check(r: Any) -> None:
        assert LaunchCommitment.objects.get(pk=r.json()["id"]).amount == 100
        assert balance(w.alice, "USDT") == 9900 and balance(w.alice, "USDT", "committed") == 100
    return Call(w.api(w.alice), "/api/v1/commitments", {"product": w.launch.pk, "amount": "100"}, key(),
                status=201, check=check)


@case("position-detail", "PATCH")
def _(w: World) -> Call:
    position = w.position
    return Call(w.api(w.alice), f"/api/v1/positions/{position.pk}", {"auto_compound": True},
                check=lambda r: Position.objects.get(pk=position.pk).auto_compound)


@case("redemption-create", "POST")
def _(w: World) -> Call:
    position = w.position

    def check(r: Any) -> None:
        assert Redemption.objects.get(pk=r.json()["id"]).amount == 40
        assert Position.objects.get(pk=position.pk).principal == 460
    return Call(w.api(w.alice), f"/api/v1/positions/{position.pk}/redemptions", {"amount": "40"}, key(),
                status=201, check=check)


@case("redemption-preview", "POST")
def _(w: World) -> Call:
    position = w.position
    return Call(w.api(w.alice), f"/api/v1/positions/{position.pk}/redemptions/preview", {"amount": "40"},
                check=lambda r: r.json()["payout"] and not Redemption.objects.exists())


@case("acknowledgement-create", "POST")
def _(w: World) -> Call:
    product = live_product("USDT", "demand")
    disclosure = product.disclosures.get(status="current")
    return Call(w.api(w.alice), f"/api/v1/products/{product.pk}/acknowledgements",
                {"disclosure_version": disclosure.version,
                 "statements": [s["key"] for s in disclosure.risk_statements]}, status=201,
                check=lambda r: Acknowledgement.objects.filter(user=w.alice, product=product).exists())


@case("compliance-assessment", "POST")
def _(w: World) -> Call:
    from compliance.selectors import assessment_questions

    user = UserFactory(country="HK")
    questions = assessment_questions(user, "demand")
    answers = {q["key"]: q["choices"][0]["key"] for q in questions}
    return Call(w.api(user), "/api/v1/compliance/assessment", {"product_kind": "demand", "answers": answers},
                status=201, check=lambda r: AssessmentAttempt.objects.filter(user=user).count() == 1)


@case("compliance-complaints", "POST")
def _(w: World) -> Call:
    return Call(w.api(w.alice), "/api/v1/compliance/complaints",
                {"product": w.demand.pk, "subject": "Rates", "body": "Why did the rate change?"}, status=201,
                check=lambda r: Complaint.objects.get(pk=r.json()["id"]).user_id == w.alice.pk)


@case("pool-deposit-preview", "POST")
def _(w: World) -> Call:
    return Call(w.api(w.alice), "/api/v1/pool-deposits/preview",
                {"product": w.pool.product_id, "amount": "0.01", "asset": "BTC"},
                check=lambda r: not PoolDeposit.objects.exists())


@case("pool-deposit-create", "POST")
def _(w: World) -> Call:
    def check(r: Any) -> None:
        assert PoolDeposit.objects.filter(position__user=w.alice).count() == 1
        assert balance(w.alice, "BTC") < 1
    return Call(w.api(w.alice), "/api/v1/pool-deposits", {"product": w.pool.product_id, "amount": "0.01",
                                                         "asset": "BTC"}, key(), status=201, check=check)


@case("pool-position-detail", "PATCH")
def _(w: World) -> Call:
    position = w.pool_position
    return Call(w.api(w.alice), f"/api/v1/pool-positions/{position.pk}", {"compound_rewards": True},
                check=lambda r: PoolPosition.objects.get(pk=position.pk).compound_rewards)


@case("pool-redemption-create", "POST")
def _(w: World) -> Call:
    position = w.pool_position
    return Call(w.api(w.alice), f"/api/v1/pool-positions/{position.pk}/redemptions", {}, key(), status=201,
                check=lambda r: PoolWithdrawal.objects.filter(position=position).count() == 1)


@case("pool-redemption-preview", "POST")
def _(w: World) -> Call:
    position = w.pool_position
    return Call(w.api(w.alice), f"/api/v1/pool-positions/{position.pk}/redemptions/preview", {},
                check=lambda r: not PoolWithdrawal.objects.exists())


# --- API: staff ---------------------------------------------------------------------------------------

@case("staff-deposit-create", "POST")
def _(w: World) -> Call:
    return Call(OtpClient(w.staff.operations), "/api/v1/staff/deposits",
                {"user": w.alice.pk, "asset": "USDT", "amount": "25", "reference": "outside-deposit"}, status=201,
                check=lambda r: balance(w.alice, "USDT") == 10025)


def _pending_deposit(w: World) -> Any:
    """A deposit above the four-eyes threshold, asked for by a second operator."""
    from accounts import roles
    from ledger.deposits import staff_deposit_create

    maker = staff_user(roles.OPERATIONS, email="maker@outside.example")
    outcome = staff_deposit_create(actor=maker, user_id=w.alice.pk, asset="USDT", amount=Decimal(50000),
                                   reference="outside-four-eyes", otp=totp_code(maker))
    assert outcome.pending is not None and outcome.entry is None
    return outcome.pending


@case("staff-deposit-approve", "POST")
def _(w: World) -> Call:
    pending = _pending_deposit(w)
    return Call(OtpClient(w.staff.operations), f"/api/v1/staff/deposits/{pending.pk}/approve", {},
                check=lambda r: balance(w.alice, "USDT") == 60000)


@case("staff-deposit-reject", "POST")
def _(w: World) -> Call:
    from ledger.models import PendingDeposit

    pending = _pending_deposit(w)

    def check(r: Any) -> None:
        assert PendingDeposit.objects.get(pk=pending.pk).status == "rejected"
        assert balance(w.alice, "USDT") == 10000
    return Call(OtpClient(w.staff.operations), f"/api/v1/staff/deposits/{pending.pk}/reject",
                {"reason": "No matching transfer"}, check=check)


@case("staff-product-create", "POST")
def _(w: World) -> Call:
    return Call(w.api(w.staff.curator), "/api/v1/staff/products", DRAFT_BODY, status=201,
                check=lambda r: Product.objects.get(pk=r.json()["id"]).status == "draft")


def _transition(action: str, status: str, role: str, after: str, body: dict | None = None) -> Callable:
    def make(w: World) -> Call:
        product = w.product_in(status)
        if action == "go-live":
            disclosure_approve(actor=w.staff.approver, disclosure=disclosure_draft(
                actor=w.staff.curator, product=product, body_en="Read this.", body_zh_hant="請細閱。",
                sections=complete_sections(product.category)))
        return Call(w.api(getattr(w.staff, role)), f"/api/v1/staff/products/{product.pk}/{action}", body or {},
                    check=lambda r: Product.objects.get(pk=product.pk).status == after)
    return make


case("staff-product-submit", "POST")(_transition("submit", "draft", "curator", "in_review"))
case("staff-product-approve", "POST")(_transition("approve", "in_review", "approver", "approved"))
case("staff-product-reject", "POST")(_transition("reject", "in_review", "approver", "draft", {"reason": "No."}))
case("staff-product-go-live", "POST")(_transition("go-live", "approved", "operations", "live"))
case("staff-product-pause", "POST")(_transition("pause", "live", "operations", "paused"))
case("staff-product-close", "POST")(_transition("close", "live", "operations", "closed"))

TERMS_BODY = {"min_amount": "5", "redemption_modes": ["fast"], "tiers": [{"lower": "0", "apr": "0.04"}]}


@case("staff-terms-propose", "POST")
def _(w: World) -> Call:
    product = w.product_in("live")
    return Call(w.api(w.staff.curator2), f"/api/v1/staff/products/{product.pk}/terms", TERMS_BODY, status=201,
                check=lambda r: ProductTerms.objects.get(product=product, version=2).status == "pending")


def _terms_decision(action: str, after: str, body: dict) -> Callable:
    def make(w: World) -> Call:
        product = w.product_in("live")
        product_services.product_terms_propose(actor=w.staff.curator2, product=product,
                                               terms={k: v for k, v in TERMS_BODY.items() if k != "tiers"},
                                               tiers=[("0", None, "0.04")])
        return Call(w.api(w.staff.approver), f"/api/v1/staff/products/{product.pk}/terms/2/{action}", body,
                    check=lambda r: ProductTerms.objects.get(product=product, version=2).status == after)
    return make


case("staff-terms-approve", "POST")(_terms_decision("approve", "approved", {}))
case("staff-terms-reject", "POST")(_terms_decision("reject", "rejected", {"reason": "Too generous"}))


@case("staff-disclosure-draft", "POST")
def _(w: World) -> Call:
    product = w.product_in("approved")
    return Call(w.api(w.staff.curator), f"/api/v1/staff/products/{product.pk}/disclosures",
                {"body_en": "Your USDT is lent.", "body_zh_hant": "您的 USDT 將被借出。",
                 "sections": [{"key": k, **t} for k, t in complete_sections(product.category).items()]}, status=201,
                check=lambda r: Disclosure.objects.get(pk=r.json()["id"]).status == "draft")


def _disclosure_decision(action: str, after: str, body: dict) -> Callable:
    def make(w: World) -> Call:
        product = w.product_in("approved")
        disclosure = disclosure_draft(actor=w.staff.curator, product=product, body_en="Read this.",
                                      body_zh_hant="請細閱。", sections=complete_sections(product.category))
        return Call(w.api(w.staff.compliance), f"/api/v1/staff/disclosures/{disclosure.pk}/{action}", body,
                    check=lambda r: Disclosure.objects.get(pk=disclosure.pk).status == after)
    return make


case("staff-disclosure-approve", "POST")(_disclosure_decision("approve", "current", {}))
case("staff-disclosure-reject", "POST")(_disclosure_decision("reject", "rejected", {"reason": "Unclear."}))


# --- Portal -------------------------------------------------------------------------------------------

@case("portal:subscribe", "POST")
def _(w: World) -> Call:
    product = w.demand
    return Call(w.browser(w.alice), f"/products/{product.pk}/subscribe",
                {"step": "confirm", "amount": "25", "idempotency_key": "portal-sub"}, json=False, status=302,
                check=lambda r: Subscription.objects.get(user=w.alice).amount == 25)


@case("portal:assessment", "POST")
def _(w: World) -> Call:
    from compliance.selectors import assessment_questions

    user = UserFactory(country="HK")
    product = live_product("USDT", "demand")
    answers = {q["key"]: q["choices"][0]["key"] for q in assessment_questions(user, "demand")}
    return Call(w.browser(user), f"/products/{product.pk}/assessment", answers, json=False, status=(200, 302),
                check=lambda r: AssessmentAttempt.objects.filter(user=user).count() == 1)


@case("portal:complaints", "POST")
def _(w: World) -> Call:
    position = w.position
    return Call(w.browser(w.alice), "/complaints", {"target": f"position:{position.pk}", "subject": "Late",
                                                    "body": "Interest came late."}, json=False, status=302,
                check=lambda r: Complaint.objects.get(user=w.alice).position_id == position.pk)


@case("portal:risk_profile", "POST")
def _(w: World) -> Call:
    return Call(w.browser(w.alice), "/account/risk-profile", {"risk_profile": "moderate", "net_worth_usd": "100000"},
                json=False, status=302,
                check=lambda r: CustomerProfile.objects.get(user=w.alice).risk_profile == "moderate")


@case("portal:position_auto_renew", "POST")
def _(w: World) -> Call:
    position = w.fixed_position
    return Call(w.browser(w.alice), f"/positions/{position.pk}/auto-renew", {"auto_renew": "on"}, json=False,
                status=302, check=lambda r: Position.objects.get(pk=position.pk).auto_renew)


@case("portal:position_auto_compound", "POST")
def _(w: World) -> Call:
    position = w.position
    return Call(w.browser(w.alice), f"/positions/{position.pk}/auto-compound", {"auto_compound": "on"}, json=False,
                status=302, check=lambda r: Position.objects.get(pk=position.pk).auto_compound)


@case("portal:redeem", "POST")
def _(w: World) -> Call:
    position = w.position
    return Call(w.browser(w.alice), f"/positions/{position.pk}/redeem",
                {"step": "confirm", "amount": "40", "mode": "fast", "idempotency_key": "portal-redeem"}, json=False,
                status=302, check=lambda r: Position.objects.get(pk=position.pk).principal == 460)


@case("portal:pool_redeem", "POST")
def _(w: World) -> Call:
    position = w.pool_position
    return Call(w.browser(w.alice), f"/pool-positions/{position.pk}/redeem",
                {"step": "confirm", "shares": "", "idempotency_key": "portal-pool-redeem"}, json=False, status=302,
                check=lambda r: PoolWithdrawal.objects.filter(position=position).count() == 1)


@case("portal:inbox", "POST")
def _(w: World) -> Call:
    w.position  # noqa: B018 - a subscription sends a notification
    return Call(w.browser(w.alice), "/inbox", {}, json=False, status=302,
                check=lambda r: not Notification.objects.filter(user=w.alice, read_at__isnull=True).exists())


@case("portal:inbox_read", "POST")
def _(w: World) -> Call:
    w.position  # noqa: B018
    notification = Notification.objects.filter(user=w.alice).first()
    return Call(w.browser(w.alice), f"/inbox/{notification.pk}", {}, json=False, status=302,
                check=lambda r: Notification.objects.get(pk=notification.pk).read_at is not None)


@case("portal:sign_in", "POST")
def _(w: World) -> Call:
    browser = w.browser()
    return Call(browser, "/account/sign-in", {"email": w.alice.email, "password": PASSWORD}, json=False, status=302,
                check=lambda r: browser.session.get("_auth_user_id") == str(w.alice.pk))


@case("portal:sign_in_verify", "POST")
def _(w: World) -> Call:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts import twofactor
    from tests.accounts.test_twofactor import code_now

    device = twofactor.totp_setup_begin(user=w.alice)
    twofactor.totp_setup_confirm(user=w.alice, code=f"{TOTP(device.bin_key).token():06d}")
    TOTPDevice.objects.filter(user=w.alice).update(last_t=-1)  # the sign-in may use this time step's code again
    browser = w.browser()
    assert browser.post("/account/sign-in", {"email": w.alice.email, "password": PASSWORD}).status_code == 302
    return Call(browser, "/account/sign-in/code", {"otp": code_now(w.alice)}, json=False, status=302,
                check=lambda r: browser.session.get("_auth_user_id") == str(w.alice.pk))


@case("portal:sign_out", "POST")
def _(w: World) -> Call:
    browser = w.browser(w.alice)
    return Call(browser, "/account/sign-out", {}, json=False, status=302,
                check=lambda r: "_auth_user_id" not in browser.session)


@case("portal:sign_up", "POST")
def _(w: World) -> Call:
    return Call(w.browser(), "/account/sign-up",
                {"email": "new@outside.example", "display_name": "New Person", "country": "SG", "language": "en",
                 "password": PASSWORD, "password_again": PASSWORD}, json=False, status=302,
                check=lambda r: UserFactory._meta.model.objects.filter(email="new@outside.example").exists())


@case("portal:language", "POST")
def _(w: World) -> Call:
    return Call(w.browser(w.alice), "/account/language", {"language": "zh-hant", "next": "/dashboard"}, json=False,
                status=302, check=lambda r: UserFactory._meta.model.objects.get(pk=w.alice.pk).language == "zh-hant")


@case("set_language", "POST")
def _(w: World) -> Call:
    return Call(w.browser(), "/i18n/setlang/", {"language": "zh-hant", "next": "/"}, json=False, status=302,
                check=lambda r: r.cookies["django_language"].value == "zh-hant")


@case("portal:profile", "POST")
def _(w: World) -> Call:
    return Call(w.browser(w.alice), "/account/profile",
                {"display_name": "Alice T", "country": w.alice.country, "language": "en"}, json=False, status=302,
                check=lambda r: UserFactory._meta.model.objects.get(pk=w.alice.pk).display_name == "Alice T")


@case("portal:security", "POST")
def _(w: World) -> Call:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return Call(w.browser(w.alice), "/account/security", {"action": "begin"}, json=False, status=302,
                check=lambda r: TOTPDevice.objects.filter(user=w.alice, confirmed=False).exists())


@case("portal:tokens", "POST")
def _(w: World) -> Call:
    from accounts.models import ApiToken

    return Call(w.browser(w.alice), "/account/tokens", {"action": "create", "name": "laptop"}, json=False,
                status=200, check=lambda r: ApiToken.objects.filter(user=w.alice, name="laptop").exists())


@case("auth-token-revoke", "DELETE")
def _(w: World) -> Call:
    from accounts.models import ApiToken
    from accounts.tokens import api_token_create

    token, _key = api_token_create(user=w.alice, name="old")
    return Call(w.api(w.alice), f"/api/v1/auth/tokens/{token.pk}", status=204,
                check=lambda r: not ApiToken.objects.filter(pk=token.pk).exists())


@case("residence-requests", "POST")
def _(w: World) -> Call:
    from accounts.models import ResidenceChangeRequest

    return Call(w.api(w.alice), "/api/v1/account/residence-requests",
                {"requested_country": "GB", "reason": "Moved to London in May."}, status=201,
                check=lambda r: ResidenceChangeRequest.objects.get(user=w.alice).status == "pending")


@case("portal:residence_request", "POST")
def _(w: World) -> Call:
    from accounts.models import ResidenceChangeRequest

    return Call(w.browser(w.alice), "/account/residence-request",
                {"requested_country": "GB", "requested_investor_class": "", "reason": "Moved to London in May."},
                json=False, status=302,
                check=lambda r: ResidenceChangeRequest.objects.get(user=w.alice).requested_country == "GB")


@case("kyc-webhook", "POST")
def _(w: World) -> Call:
    import json
    import time

    from django.conf import settings

    from accounts.kyc import webhook_signature

    newcomer = UserFactory(email="new@outside.example", country="SG", kyc_status="unverified", kyc_verified_at=None)
    raw = json.dumps({"event_id": "evt-outside", "timestamp": int(time.time()), "status": "verified",
                      "country": "SG", "user_id": newcomer.pk}).encode()

    class Raw:
        """Sends the exact signed bytes (the layer's JSON encoding could differ from what was signed)."""

        def post(self, path: str, data: Any, format: str | None = None, **headers: str) -> Any:
            return APIClient().generic("POST", path, raw, content_type="application/json", **headers)

    return Call(Raw(), "/api/v1/kyc/webhook", None,
                {"HTTP_X_KYC_SIGNATURE": webhook_signature(raw, settings.KYC_WEBHOOK_SECRET)},
                check=lambda r: UserFactory._meta.model.objects.get(pk=newcomer.pk).kyc_status == "verified")


@case("portal:password_change", "POST")
def _(w: World) -> Call:
    new = "an-even-longer-phrase-7"
    return Call(w.browser(w.alice), "/account/password",
                {"old_password": PASSWORD, "new_password1": new, "new_password2": new}, json=False, status=302,
                check=lambda r: UserFactory._meta.model.objects.get(pk=w.alice.pk).check_password(new))


@case("portal:commit", "POST")
def _(w: World) -> Call:
    def check(r: Any) -> None:
        assert LaunchCommitment.objects.get(user=w.alice).amount == 100
        assert balance(w.alice, "USDT", "committed") == 100
    return Call(w.browser(w.alice), f"/products/{w.launch.pk}/commit",
                {"amount": "100", "idempotency_key": uuid.uuid4().hex}, json=False, status=302, check=check)


@case("portal:password_reset", "POST")
def _(w: World) -> Call:
    return Call(w.browser(), "/account/password-reset", {"email": w.alice.email}, json=False, status=302,
                check=lambda r: len(mail.outbox) == 1)


@case("portal:password_reset_confirm", "POST")
def _(w: World) -> Call:
    browser = w.browser()
    uid = urlsafe_base64_encode(force_bytes(w.alice.pk))
    token = default_token_generator.make_token(w.alice)
    landing = browser.get(f"/account/password-reset/{uid}/{token}")
    assert landing.status_code == 302, landing.status_code
    new = "an-even-longer-phrase-7"
    return Call(browser, landing["Location"], {"new_password1": new, "new_password2": new}, json=False, status=302,
                check=lambda r: UserFactory._meta.model.objects.get(pk=w.alice.pk).check_password(new))


# --- The layer ------------------------------------------------------------------------------------------

MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def _routes(patterns: list, prefix: str = "", namespace: str | None = None) -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield prefix + str(pattern.pattern), name or prefix + str(pattern.pattern), pattern.callback


def _allowed_methods(view: Any) -> set[str]:
    """The mutating methods a view answers: a DRF or class-based view's handlers, or the list of a
    `require_http_methods` decorator; a plain function view without one is taken to accept POST."""
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if view_class is not None:
        if hasattr(view_class, "as_view") and not hasattr(view_class, "get_authenticators"):
            return {"POST"} if hasattr(view_class, "post") else set()  # Django's own views: PUT is POST again
        return {m.upper() for m in ("post", "put", "patch", "delete") if hasattr(view_class, m)}
    function: Any = view
    while function is not None:
        for cell in getattr(function, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and v.isupper() for v in value):
                return set(value) & set(MUTATING)
        function = getattr(function, "__wrapped__", None)
    return {"POST"}


def mutating_routes() -> set[tuple[str, str]]:
    """(route name, method) for every API route with a mutating handler and every portal POST (not the
    admin console, whose own forms Django tests)."""
    found = set()
    for route, name, view in _routes(get_resolver().url_patterns):
        if route.startswith(("admin/", "static/", "media/")):
            continue
        for method in _allowed_methods(view):
            found.add((name, method))
    return found


def test_every_mutating_route_has_a_case():
    missing = sorted(f"{method} {name}" for name, method in mutating_routes() - set(CASES)
                     if name not in NOT_MUTATING)
    assert not missing, ("routes with no case in tests/transactions (add a @case for each, valid input, "
                         f"success status and the state it leaves): {missing}")
    stale = sorted(f"{method} {name}" for name, method in set(CASES) - mutating_routes())
    assert not stale, f"cases for routes that no longer exist or no longer take the method: {stale}"


@pytest.fixture
def world(assets, usd_prices) -> World:
    return World(assets)


@pytest.mark.parametrize(("route", "method"), sorted(CASES), ids=[f"{m} {r}" for r, m in sorted(CASES)])
def test_the_route_succeeds_outside_a_transaction(world, route, method, settings):
    settings.AXES_ENABLED = False  # sign-ins in a row from one address
    settings.KYC_WEBHOOK_SECRET = "outside-a-transaction-secret"  # the KYC webhook's case signs with it
    call = CASES[(route, method)](world)
    send = getattr(call.client, method.lower())
    kwargs: dict[str, Any] = dict(call.headers)
    if call.json:
        kwargs["format"] = "json"
    response = send(call.path, call.data, **kwargs)
    expected = call.status if isinstance(call.status, tuple) else (call.status,)
    assert response.status_code in expected, (route, response.status_code, response.content[:500])
    if call.check is not None:
        assert call.check(response) is not False, route
    assert not IdempotencyRecord.objects.filter(response_status__gte=500).exists()
