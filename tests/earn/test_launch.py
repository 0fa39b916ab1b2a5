"""Launch mode end to end: committing (gate, window, lot, balance), the allocation job (exactly once, also
after a crash between steps), what customers see in the API, and subscriptions refused on a launch."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import Acknowledgement, AuditEvent
from earn import errors
from earn.models import CommitmentStatus, LaunchCommitment, LaunchRun, Position, Product, Subscription
from earn.selectors.launch import commitment_totals
from earn.services import launch as services
from earn.services.subscriptions import subscription_create
from ledger.models import AccountKind, JournalEntry
from ledger.reconcile import ledger_reconcile
from ledger.services import deposit_credit
from tests.earn.factories import launch_product
from tests.earn.helpers import acknowledge, balance
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def customer(product: Product, funds: str = "10000", **fields: object):
    user = UserFactory(country="SG", **fields)
    deposit_credit(user_id=user.pk, asset=product.asset_id, amount=Decimal(funds), reference=f"fund-{uuid.uuid4()}")
    acknowledge(user, product)
    return user


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client
    return make


def after_window(product: Product):
    return time_machine.travel(product.launch_window_end + dt.timedelta(minutes=1), tick=False)


@pytest.fixture
def scenario(assets):
    """SCENARIOS 18: quota 1,000 USDT; commitments 600, 300, 300 and 100 from four customers."""
    product = launch_product("USDT", quota="1000")
    users = [customer(product) for _ in range(4)]
    for user, amount in zip(users, ("600", "300", "300", "100"), strict=True):
        services.commitment_create(user=user, product_id=product.pk, amount=amount)
    return product, users


def test_commitments_and_the_allocated_subscriptions_record_the_acknowledgement(assets):
    product = launch_product("USDT", quota="1000")
    alice, bob = customer(product), customer(product)
    acks = {u.pk: Acknowledgement.objects.filter(user=u, product=product).get().pk for u in (alice, bob)}
    services.commitment_create(user=alice, product_id=product.pk, amount="600")
    services.commitment_create(user=bob, product_id=product.pk, amount="300")
    assert {c.user_id: c.acknowledgement_id for c in LaunchCommitment.objects.all()} == acks
    with after_window(product):
        services.launch_allocate(product.pk)
    assert {s.user_id: s.acknowledgement_id for s in Subscription.objects.filter(product=product)} == acks


def test_commit_moves_the_money_to_the_committed_account_at_once(assets):
    product = launch_product("USDT")
    alice = customer(product, "1000")
    commitment = services.commitment_create(user=alice, product_id=product.pk, amount="250")
    assert LaunchCommitment.objects.get(pk=commitment.pk).status == CommitmentStatus.COMMITTED
    assert balance(alice, "USDT") == 750
    assert balance(alice, "USDT", AccountKind.COMMITTED) == 250
    assert JournalEntry.objects.filter(idempotency_key=f"launch-commit:{commitment.pk}").exists()
    assert Product.objects.get(pk=product.pk).sold_amount == 0  # no cap row touched


def test_the_commit_path_does_not_lock_the_product_row(assets):
    product = launch_product("USDT")
    alice = customer(product, "1000")
    with CaptureQueriesContext(connection) as queries:
        services.commitment_create(user=alice, product_id=product.pk, amount="10")
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if "earn_product" in s and ("FOR UPDATE" in s or s.lstrip().startswith("UPDATE"))]
    assert len(sql) <= 20, sql


@pytest.mark.parametrize(("amount", "setup", "code"), [
    ("10", "no_ack", "NO_ACK"),
    ("0.5", None, errors.BELOW_MIN),
    ("20000", None, errors.INSUFFICIENT_BALANCE),
    ("10", "before", errors.OUTSIDE_WINDOW),
    ("10", "after", errors.OUTSIDE_WINDOW),
])
def test_commit_refusals_move_nothing(assets, amount, setup, code):
    product = launch_product("USDT", min_lot="1", opens=timezone.now() + dt.timedelta(hours=1) if setup == "before"
                             else timezone.now() - dt.timedelta(hours=30 if setup == "after" else 1))
    user = UserFactory(country="SG")
    deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("10000"), reference=f"f-{user.pk}")
    if setup != "no_ack":
        acknowledge(user, product)
    with pytest.raises(errors.SubscriptionRefused) as refused:
        services.commitment_create(user=user, product_id=product.pk, amount=amount)
    assert code in refused.value.codes
    assert balance(user, "USDT") == 10000 and not LaunchCommitment.objects.exists()


def test_no_commitment_after_the_window_closed_for_allocation(scenario):
    product, users = scenario
    with after_window(product):
        services.launch_close(product.pk)
    with pytest.raises(errors.SubscriptionRefused) as refused:  # even with a clock still inside the window
        services.commitment_create(user=users[0], product_id=product.pk, amount="1")
    assert refused.value.codes == [errors.OUTSIDE_WINDOW]


def test_the_allocation_job_refuses_while_the_window_is_open(scenario):
    product, _users = scenario
    with pytest.raises(services.LaunchWindowOpen):
        services.launch_allocate(product.pk)
    assert not LaunchRun.objects.exists()


def test_scenario_18_allocation_positions_and_refunds(scenario):
    product, users = scenario
    with after_window(product):
        run = services.launch_allocate(product.pk)
    assert run.status == LaunchRun.Status.DONE and run.allocated_total == 1000 and run.committed_total == 1300
    allocated = {c.user_id: (c.allocated, c.refunded) for c in LaunchCommitment.objects.all()}
    assert [allocated[u.pk] for u in users] == [
        (Decimal("461.53846154"), Decimal("138.46153846")), (Decimal("230.76923077"), Decimal("69.23076923")),
        (Decimal("230.76923077"), Decimal("69.23076923")), (Decimal("76.92307692"), Decimal("23.07692308"))]
    for user, (given, refund), committed in zip(users, [allocated[u.pk] for u in users], (600, 300, 300, 100),
                                                strict=True):
        position = Position.objects.get(user=user, product=product)
        assert position.principal == given and position.maturity_date is not None
        assert balance(user, "USDT") == 10000 - committed + refund
        assert balance(user, "USDT", AccountKind.EARN) == given
        assert balance(user, "USDT", AccountKind.COMMITTED) == 0
    totals = commitment_totals(product.pk)
    assert totals["allocated"] + totals["refunded"] == totals["committed"] == 1300  # to the unit
    assert Product.objects.get(pk=product.pk).sold_amount == 1000
    assert Subscription.objects.filter(product=product).count() == 4
    assert AuditEvent.objects.filter(action="launch.allocate").count() == 1
    assert ledger_reconcile().ok


def test_a_crash_between_steps_and_mid_settlement_then_a_rerun_moves_everything_exactly_once(scenario,
                                                                                            monkeypatch):
    product, users = scenario
    with after_window(product):
        services.launch_close(product.pk)
        services.launch_plan(product.pk)  # "killed" after the allocation step
        assert LaunchRun.objects.get(product=product).status == LaunchRun.Status.ALLOCATED
        real = services.ledger.entries_post
        calls = {"n": 0}

        def dies_on_the_second_batch(specs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise SystemExit("worker killed")  # batch 2: positions written, its transaction never commits
            return real(specs)

        monkeypatch.setattr(services.ledger, "entries_post", dies_on_the_second_batch)
        with pytest.raises(SystemExit):
            services.launch_allocate(product.pk, batch=2)
        assert LaunchCommitment.objects.filter(status=CommitmentStatus.SETTLED).count() == 2  # batch 1 only
        assert LaunchCommitment.objects.filter(status=CommitmentStatus.ALLOCATED).count() == 2
        monkeypatch.setattr(services.ledger, "entries_post", real)
        services.launch_allocate(product.pk, batch=2)
        services.launch_allocate(product.pk, batch=2)  # and once more: nothing left to do
    assert LaunchRun.objects.get(product=product).status == LaunchRun.Status.DONE
    assert JournalEntry.objects.filter(kind="launch_allocation").count() == 4
    assert Position.objects.filter(product=product).count() == 4
    assert Product.objects.get(pk=product.pk).sold_amount == 1000
    assert sum(balance(u, "USDT") for u in users) == 40000 - 1000
    assert ledger_reconcile().ok


def test_demand_launch_first_come_first_served_with_cap_and_lot(assets):
    product = launch_product("USDT", "demand", method="fcfs", quota="100", min_lot="10", user_cap="60")
    a, b, c = (customer(product) for _ in range(3))
    for user, amount in ((a, "40"), (b, "50"), (a, "30"), (c, "25")):
        services.commitment_create(user=user, product_id=product.pk, amount=amount)
    with after_window(product):
        services.launch_allocate(product.pk)
    assert Position.objects.get(user=a, product=product).principal == 50  # 40 + the last 10 of the quota
    assert Position.objects.get(user=b, product=product).principal == 50
    assert not Position.objects.filter(user=c).exists() and balance(c, "USDT") == 10000
    assert balance(a, "USDT") == 10000 - 50
    assert ledger_reconcile().ok


def test_a_subscription_to_a_launch_product_is_refused(assets):
    product = launch_product("USDT")
    alice = customer(product)
    with pytest.raises(errors.SubscriptionRefused) as refused:
        subscription_create(user=alice, product_id=product.pk, amount="10")
    assert errors.LAUNCH_ONLY in refused.value.codes


def test_a_commitment_to_an_ordinary_product_is_refused(assets):
    from tests.earn.factories import live_product

    product = live_product("USDT")
    alice = customer(product)
    with pytest.raises(errors.SubscriptionRefused) as refused:
        services.commitment_create(user=alice, product_id=product.pk, amount="10")
    assert refused.value.codes == [errors.NOT_A_LAUNCH]


def test_management_command_prints_progress_and_is_idempotent(scenario, capsys):
    product, _users = scenario
    with after_window(product):
        call_command("launch_allocate", "--product", str(product.pk), "--batch", "3")
        out = capsys.readouterr().out
        assert "4 commitment(s) from 4 customer(s), 1300 committed → 1000 allocated, 300 refunded" in out
        assert "settled 3/4" in out and "settled 4/4" in out and "done" in out
        call_command("launch_allocate", "--due")
    assert JournalEntry.objects.filter(kind="launch_allocation").count() == 4


def test_task_allocates_and_sweep_finds_due_launches(scenario):
    from earn import tasks

    product, _users = scenario
    assert services.launches_due() == []
    with after_window(product):
        assert services.launches_due() == [product.pk]
        assert tasks.launch_allocate_task(product.pk)["status"] == "done"
        assert services.launches_due() == []


# --- API ----------------------------------------------------------------------------------------------

def test_api_commit_list_and_launch_state(assets, api_client_for):
    product = launch_product("USDT", quota="100", min_lot="1")
    alice = customer(product, "500")
    client = api_client_for(alice)
    r = client.post("/api/v1/commitments", {"product": product.pk, "amount": "200"}, format="json",
                    HTTP_IDEMPOTENCY_KEY="k1")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["amount"] == "200.00000000" and body["status"] == "committed" and body["allocated"] is None
    replay = client.post("/api/v1/commitments", {"product": product.pk, "amount": "200"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="k1")
    assert replay.json() == body and replay["Idempotent-Replayed"] == "true"
    refused = client.post("/api/v1/commitments", {"product": product.pk, "amount": "0.1"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="k2")
    assert refused.status_code == 400 and refused.json()["code"] == "BELOW_MIN"
    launch = client.get(f"/api/v1/products/{product.pk}/launch").json()
    assert launch["state"] == "open" and launch["your_committed"] == "200.00000000"
    assert launch["committed_total"] == "200.00000000" and launch["method"] == "pro_rata"
    with after_window(product):
        assert client.get(f"/api/v1/products/{product.pk}/launch").json()["state"] == "closed"
        services.launch_allocate(product.pk)
        launch = client.get(f"/api/v1/products/{product.pk}/launch").json()
    assert launch["state"] == "allocated"
    assert (launch["your_allocated"], launch["your_refunded"]) == ("100.00000000", "100.00000000")
    with CaptureQueriesContext(connection) as queries:
        listed = client.get("/api/v1/commitments").json()
    assert len(queries) <= 4
    assert listed["results"][0]["status"] == "settled"
    assert (listed["results"][0]["allocated"], listed["results"][0]["refunded"]) == ("100.00000000", "100.00000000")
    assert listed["results"][0]["position"] == Position.objects.get(user=alice).pk


def test_another_customers_commitments_are_never_shown(assets, api_client_for):
    """The list, its product filter and the launch's `your_*` figures are the caller's own, whoever else committed."""
    product = launch_product("USDT", quota="100", min_lot="1")
    alice, mallory = customer(product, "500"), customer(product, "500")
    committed = api_client_for(alice).post("/api/v1/commitments", {"product": product.pk, "amount": "200"},
                                           format="json", HTTP_IDEMPOTENCY_KEY="alice-1")
    assert committed.status_code == 201, committed.content
    other = api_client_for(mallory)
    for path in ("/api/v1/commitments", f"/api/v1/commitments?product={product.pk}"):
        assert other.get(path).json()["results"] == [], path
    launch = other.get(f"/api/v1/products/{product.pk}/launch").json()
    assert (launch["your_committed"], launch["your_commitments"]) == ("0.00000000", 0)
    assert launch["committed_total"] == "200.00000000" and launch["customers"] == 1  # totals only, no names


def test_api_hostile_input_is_a_json_4xx(assets, api_client_for):
    product = launch_product("USDT")
    client = api_client_for(customer(product))
    for body in ({"product": product.pk, "amount": 10}, {"product": "x", "amount": "1"},
                 {"product": product.pk, "amount": "1e999"}, {"product": 999999, "amount": "1"},
                 {"product": product.pk, "amount": "-1"}, {"product": product.pk, "amount": "0.000000001"}):
        r = client.post("/api/v1/commitments", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        assert 400 <= r.status_code < 500 and "code" in r.json(), (body, r.status_code, r.content)
    assert client.get("/api/v1/products/999999/launch").status_code == 404
    assert client.get(f"/api/v1/commitments?product={product.pk}").status_code == 200
    # A filter that is no product id is a JSON 400 on `product` (int() of "²" or of 5 000 digits was a 500).
    for bad in ("abc", "%C2%B2", "9" * 5000, "-1", "0", "1.5", "1e3", "%00", "99999999999999999999"):
        r = client.get(f"/api/v1/commitments?product={bad}")
        assert r.status_code == 400 and r.json()["field"] == "product", (bad, r.status_code, r.content[:200])
    r = client.get(f"/api/v1/commitments?product=abc&product={product.pk}")  # the last of repeated params
    assert r.status_code == 200


def test_reconcile_checks_committed_accounts_against_open_commitments(scenario):
    product, users = scenario
    report = ledger_reconcile()
    assert report.ok and "earn_committed" in report.checks_run
    LaunchCommitment.objects.filter(user=users[0]).update(amount=Decimal("599"))  # a row that lost a unit
    assert any("unsettled launch commitments 599" in str(m) for m in ledger_reconcile().mismatches)


@pytest.mark.django_db(transaction=True)
def test_committed_shows_in_balances_until_the_allocation_outside_a_transaction(assets, api_client_for):
    """As in production (no wrapping transaction): the commitment's money is `committed` in GET /api/v1/balances at
    once, and after the allocation it is in Earn (allocated) or back in `available` (refunded), `committed` 0."""
    product = launch_product("USDT", quota="100", min_lot="1")
    alice = customer(product, "500")
    client = api_client_for(alice)
    made = client.post("/api/v1/commitments", {"product": product.pk, "amount": "300"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="outside-1")
    assert made.status_code == 201, made.content
    assert not connection.in_atomic_block

    def usdt() -> dict:
        return next(b for b in client.get("/api/v1/balances").json() if b["asset"] == "USDT")

    assert (usdt()["available"], usdt()["committed"]) == ("200.00000000", "300.00000000")
    with after_window(product):
        call_command("launch_allocate", "--product", str(product.pk), stdout=io.StringIO())
    after = usdt()
    assert (after["available"], after["committed"], after["earn"]) == ("400.00000000", "0.00000000", "100.00000000")
    assert LaunchCommitment.objects.get().status == CommitmentStatus.SETTLED
