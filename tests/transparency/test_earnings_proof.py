"""Verifiable earnings: the accrual proof of the worked scenarios checks out offline; a tampered copy does not."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from earn.models import ProductTerms, RateTier, TermsStatus
from earn.services import accrual
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product, staff_user
from tests.earn.helpers import acknowledge, at
from tests.factories import UserFactory

D = Decimal
VERIFY = Path(__file__).resolve().parents[2] / "bin" / "earn_verify.py"
pytestmark = pytest.mark.django_db


def customer_in(product, fund, amount):
    user = UserFactory(country="HK")
    fund(user, product.asset_id, amount)
    acknowledge(user, product)
    return user


def proof_of(user, position_id):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/positions/{position_id}/accruals?format=proof")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/vnd.earn.accrual-proof+json")
    return json.loads(response.content)


def verify(tmp_path, proof, name="proof.json"):
    """Run the verifier as a customer would: a separate interpreter, isolated, without site-packages."""
    path = tmp_path / name
    path.write_text(json.dumps(proof), encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", "-S", str(VERIFY), "accruals", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


def test_scenario_1_fixed_30_days_proof_verifies_and_tampering_is_caught(assets, fund, tmp_path):
    product = live_product("USDT", "fixed", term_days=30, tiers=[(0, None, "0.05")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 10):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 4, 1, 0, 10):
        accrual.accrue_pending()
    proof = proof_of(user, sub.position_id)
    days = proof["days"]
    assert (proof["asset"], proof["scale"], proof["rounding"], len(days)) == ("USDT", 8, "ROUND_DOWN", 30)
    first = days[0]
    assert first["date"] == "2026-03-02" and first["terms_version"] == 1 and first["day_count_basis"] == 365
    assert first["tiers"] == [{"lower": "0.000000000000000000", "upper": None, "apr": "0.050000000000000000"}]
    assert D(first["base"]) == 1000 and D(first["carry_in"]) == 0
    assert D(first["exact"]) == D("0.136986301369863013") and D(first["posted"]) == D("0.13698630")
    assert days[1]["carry_in"] == first["carry_out"]
    assert [i + 1 for i, d in enumerate(days) if D(d["posted"]) == D("0.13698631")] == [8, 15, 22, 30]
    assert D(proof["totals"]["posted"]) == D("4.10958904")

    code, out, err = verify(tmp_path, proof)
    assert (code, err) == (0, ""), out
    assert "30 day(s) checked, posted total 4.10958904; every day agrees" in out and "MISMATCH" not in out

    tampered = copy.deepcopy(proof)
    tampered["days"][7]["posted"] = "0.13698630"  # day 8 posts the carried unit: claim it did not
    code, out, _err = verify(tmp_path, tampered)
    assert code == 1
    assert "MISMATCH 2026-03-09 posted: stated 0.1369863, recomputed 0.13698631" in out
    assert "mismatch(es)" in out.splitlines()[-1]

    inflated = copy.deepcopy(proof)
    inflated["days"][3]["tiers"][0]["apr"] = "0.06"  # a better rate than the one applied
    code, out, _err = verify(tmp_path, inflated)
    assert code == 1 and "MISMATCH 2026-03-05 exact:" in out

    carried = copy.deepcopy(proof)
    carried["days"][10]["carry_in"] = "0"  # a carry that vanished between two days
    code, out, _err = verify(tmp_path, carried)
    assert code == 1 and "MISMATCH 2026-03-12 carry_in" in out


def test_scenario_2_marginal_tiers_proof(assets, fund, tmp_path):
    product = live_product("BTC", tiers=[(0, 5, "0.05"), (5, 10, "0.03")])
    user = customer_in(product, fund, "10")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="7")
    with at(2026, 3, 3, 1):
        accrual.accrue_pending()
    proof = proof_of(user, sub.position_id)
    assert [d["date"] for d in proof["days"]] == ["2026-03-02"]
    day = proof["days"][0]
    assert D(day["posted"]) == D("0.00084931") and len(day["tiers"]) == 2
    assert verify(tmp_path, proof)[0] == 0
    flat = copy.deepcopy(proof)
    flat["days"][0]["tiers"] = [{"lower": "0", "upper": None, "apr": "0.03"}]  # the whole 7 at 3 %: wrong
    code, out, _err = verify(tmp_path, flat)
    assert code == 1 and "posted: stated 0.00084931, recomputed 0.00057534" in out


@pytest.mark.parametrize(("basis", "total"), [(360, "8.33333333"), (365, "8.21917808")])
def test_scenario_3_day_count_basis(assets, fund, tmp_path, basis, total):
    product = live_product("USDT", "fixed", term_days=30, day_count_basis=basis, tiers=[(0, None, "0.10")])
    user = customer_in(product, fund, "1000")
    with at(2026, 3, 1, 10):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
    with at(2026, 4, 1, 0, 10):
        accrual.accrue_pending()
    proof = proof_of(user, sub.position_id)
    assert {d["day_count_basis"] for d in proof["days"]} == {basis}
    assert D(proof["totals"]["posted"]) == D(total)
    assert verify(tmp_path, proof)[0] == 0
    wrong = copy.deepcopy(proof)
    for day in wrong["days"]:
        day["day_count_basis"] = 365 if basis == 360 else 360
    assert verify(tmp_path, wrong)[0] == 1


def test_demand_rate_change_shows_each_days_terms_version(assets, fund, tmp_path):
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = customer_in(product, fund, "5000")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="2500")
        approver = staff_user()
        terms = ProductTerms.objects.create(product=product, version=2, status=TermsStatus.APPROVED,
                                            effective_from=dt.date(2026, 3, 4), min_amount=D("0.00000001"),
                                            drafted_by=staff_user(), approved_by=approver, approved_at=timezone.now(),
                                            redemption_modes=["fast"])
        RateTier.objects.create(terms=terms, lower=0, upper=1000, apr=D("0.04"))
        RateTier.objects.create(terms=terms, lower=1000, upper=None, apr=D("0.02"))
    with at(2026, 3, 3, 12):
        subscription_create(user=user, product_id=product.pk, amount="1000.5")  # earns from 2026-03-04
    with at(2026, 3, 7, 1):
        accrual.accrue_pending()
    proof = proof_of(user, sub.position_id)
    assert [(d["date"], d["terms_version"]) for d in proof["days"]] == [
        ("2026-03-02", 1), ("2026-03-03", 1), ("2026-03-04", 2), ("2026-03-05", 2), ("2026-03-06", 2)]
    assert [D(d["base"]) for d in proof["days"]] == [D(2500)] * 2 + [D("3500.5")] * 3
    assert [t["version"] for t in proof["terms"]] == [1, 2]
    code, out, _err = verify(tmp_path, proof)
    assert code == 0, out
    based = copy.deepcopy(proof)
    based["days"][2]["base"] = "2500.000000000000000000"  # hide the new money's interest: the base no longer adds up
    code, out, _err = verify(tmp_path, based)
    assert code == 1 and "MISMATCH 2026-03-04 base" in out


def test_proof_is_the_owners_only_and_a_constant_number_of_queries(assets, fund, django_assert_max_num_queries):
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    owner = customer_in(product, fund, "100")
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=owner, product_id=product.pk, amount="100")
    with at(2026, 3, 20, 1):
        accrual.accrue_pending()
    other = APIClient()
    other.force_authenticate(UserFactory(country="HK"))
    response = other.get(f"/api/v1/positions/{sub.position_id}/accruals?format=proof")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert response["Content-Type"] == "application/json"
    assert APIClient().get(f"/api/v1/positions/{sub.position_id}/accruals?format=proof").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(owner)
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/positions/{sub.position_id}/accruals?format=proof")
    assert len(response.json()["days"]) == 18
    page = client.get(f"/api/v1/positions/{sub.position_id}/accruals").json()  # the plain list is unchanged
    assert len(page["results"]) == 18 and "next" in page


def test_verifier_refuses_what_is_not_a_proof(tmp_path):
    (tmp_path / "x.json").write_text('{"results": []}')
    done = subprocess.run([sys.executable, "-I", "-S", str(VERIFY), str(tmp_path / "x.json")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "not an accrual proof" in done.stderr


def test_portal_position_page_links_the_proof_and_the_verifier(assets, fund, client):
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    owner = customer_in(product, fund, "100")
    sub = subscription_create(user=owner, product_id=product.pk, amount="100")
    client.force_login(owner)
    page = client.get(f"/positions/{sub.position_id}").content.decode()
    assert f"/api/v1/positions/{sub.position_id}/accruals?format=proof" in page and "/verify/earn_verify.py" in page
    proof = client.get(f"/api/v1/positions/{sub.position_id}/accruals?format=proof")  # the session is enough
    assert proof.status_code == 200 and proof.json()["position"] == sub.position_id
    script = client.get("/verify/earn_verify.py")
    assert script.status_code == 200 and b"".join(script.streaming_content) == VERIFY.read_bytes()
