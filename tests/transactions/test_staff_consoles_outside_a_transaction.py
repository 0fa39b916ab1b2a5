"""The risk console's admin POSTs with no transaction around the test: a category rule previewed, confirmed and
withdrawn, and an exposure limit added, changed and deleted, each leaving its committed row and audit event and
reaching the next request (the gate, the catalogue, the exposure page). tests/transactions/test_outside_a_transaction
covers the API and the portal; the admin console is left out there."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.models import CategoryRule, CustomerProfile
from core.models import AuditEvent
from earn.models import ExposureLimit, Position, PositionStatus
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory, admin_login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.category_rules]
RULES = "/admin/compliance/categoryrule/"
LIMITS = "/admin/earn/exposurelimit/"


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_category_rule_is_previewed_confirmed_and_withdrawn_with_committed_outcomes(assets, fund):
    staking = live_product("ETH", category="staking")
    holder = UserFactory(country="DE", professional_investor=False)
    CustomerProfile.objects.filter(user=holder).update(professional_investor=False)
    fund(holder, "ETH", "10")
    acknowledge(holder, staking)
    position = subscription_create(user=holder, product_id=staking.pk, amount="1").position
    newcomer = UserFactory(country="DE", professional_investor=False)
    assert _api(newcomer).get(f"/api/v1/products/{staking.pk}").status_code == 200  # offered before the rule
    officer = staff_user("compliance_officer")
    client = admin_login(Client(), officer)
    form = {"jurisdiction": "DE", "category": "staking", "investor_class": "retail", "notes": "BaFin opinion",
            "effective_from_0": "", "effective_from_1": "", "_save": "Save"}
    preview = client.post(f"{RULES}add/", form)
    assert preview.status_code == 200 and 'name="_confirmed"' in preview.content.decode()
    assert not CategoryRule.objects.filter(created_by=officer).exists()  # nothing saved by the preview

    done = client.post(f"{RULES}add/", {**form, "_confirmed": "1"})
    assert done.status_code == 302, done.content.decode()[:2000]
    assert not connection.in_atomic_block
    rule = CategoryRule.objects.get(created_by=officer)
    assert (rule.jurisdiction, rule.category, rule.permitted) == ("DE", "staking", False)
    assert AuditEvent.objects.filter(action="category_rule.create", object_id=str(rule.pk)).count() == 1
    # The next requests meet the committed rule: hidden from a newcomer's catalogue, refused at subscription ...
    assert _api(newcomer).get(f"/api/v1/products/{staking.pk}").status_code == 404
    api = _api(holder)
    refused = api.post("/api/v1/subscriptions", {"product": staking.pk, "amount": "1"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="after-rule")
    assert refused.status_code == 403 and refused.json()["code"] == "PRODUCT_NOT_PERMITTED"
    # ... and the position opened before it stays open.
    assert Position.objects.get(pk=position.pk).status == PositionStatus.ACTIVE

    later = timezone.now() + dt.timedelta(days=7)
    scheduled = {**form, "permitted": "on", "notes": "reopened", "effective_from_0": later.strftime("%Y-%m-%d"),
                 "effective_from_1": later.strftime("%H:%M:%S"), "_confirmed": "1"}
    assert client.post(f"{RULES}add/", scheduled).status_code == 302
    version = CategoryRule.objects.get(created_by=officer, notes="reopened")
    assert client.post(f"{RULES}{version.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not CategoryRule.objects.filter(pk=version.pk).exists()
    assert AuditEvent.objects.filter(action="category_rule.withdraw", object_id=str(version.pk)).count() == 1
    assert client.post(f"{RULES}{rule.pk}/delete/", {"post": "yes"}).status_code == 403  # in force: kept
    assert CategoryRule.objects.filter(pk=rule.pk).exists()


def test_an_exposure_limit_is_added_changed_and_deleted_with_committed_outcomes(assets, usd_prices):
    live_product("USDT", venue="Aave v3", name_en="USDT Aave", sold_amount="40000")
    ops = admin_login(Client(), staff_user("operations", email="ops@earn.example"))
    added = ops.post(f"{LIMITS}add/", {"kind": "venue", "name": "Aave v3", "limit_usd": "30000", "note": "review"})
    assert added.status_code == 302, added.content.decode()[:2000]
    limit = ExposureLimit.objects.get(name="Aave v3")
    assert AuditEvent.objects.filter(action="exposure_limit.create", object_id=str(limit.pk)).count() == 1
    assert "1 limit is breached." in ops.get("/admin/operations/exposure/").content.decode()

    changed = ops.post(f"{LIMITS}{limit.pk}/change/", {"kind": "venue", "name": "Aave v3", "limit_usd": "50000",
                                                       "note": "raised"})
    assert changed.status_code == 302, changed.content.decode()[:2000]
    limit.refresh_from_db()
    assert limit.limit_usd == 50000
    assert AuditEvent.objects.filter(action__startswith="exposure_limit.", object_id=str(limit.pk)).count() == 2
    assert "breached" not in ops.get("/admin/operations/exposure/").content.decode().split("<h2", 1)[0]

    assert ops.post(f"{LIMITS}{limit.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ExposureLimit.objects.filter(pk=limit.pk).exists()
    assert AuditEvent.objects.filter(action="exposure_limit.delete", object_id=str(limit.pk)).count() == 1
