"""The accrual engine's chunks, dispatch, sweeper and auto-compounding (DESIGN.md §4–§6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from earn.models import Accrual, AccrualChunk, AccrualRun, Position, PositionChange
from earn.services import accrual
from earn.services.position_switches import position_set_auto_compound
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, at, balance
from tests.factories import UserFactory, admin_login

D = Decimal
pytestmark = pytest.mark.django_db


def assert_reconciled():
    report = ledger_reconcile()
    assert report.ok, [str(m) for m in report.mismatches]


@pytest.fixture
def book(assets, fund):
    """Five customers each holding 1000 USDT in a 10 % demand product from 2 March 2026."""
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    users = []
    for _ in range(5):
        user = UserFactory(country="SG")
        fund(user, "USDT", "1000")
        acknowledge(user, product)
        users.append(user)
    with at(2026, 3, 1, 9):
        for user in users:
            subscription_create(user=user, product_id=product.pk, amount="1000")
    return product, users


def test_a_day_is_planned_into_chunks_each_committed_once(book):
    with at(2026, 3, 3, 0, 5):
        result = accrual.accrue_day(dt.date(2026, 3, 2), chunk_size=2)
    run = AccrualRun.objects.get(date=dt.date(2026, 3, 2))
    chunks = list(run.chunks.order_by("lo"))
    assert [c.planned for c in chunks] == [2, 2, 1]
    assert all(c.status == "done" for c in chunks) and sum(c.positions for c in chunks) == 5
    assert (run.status, run.positions, result.positions, result.chunks) == ("done", 5, 5, 3)
    assert Accrual.objects.filter(date=dt.date(2026, 3, 2)).count() == 5
    # the same chunk delivered again changes nothing
    assert accrual.chunk_process(chunks[0].pk).state == "already done"
    assert Accrual.objects.count() == 5
    assert_reconciled()


def test_a_run_interrupted_after_some_chunks_is_finished_by_the_next(book):
    day = dt.date(2026, 3, 2)
    with at(2026, 3, 3, 0, 5):
        run = accrual.run_plan(day, chunk_size=2)
        first = run.chunks.order_by("lo").first()
        accrual.chunk_process(first.pk)  # then the worker died
        assert AccrualRun.objects.get(pk=run.pk).status == "running"
        result = accrual.accrue_day(day)
    assert result.positions == 3 and result.chunks == 2  # only the two chunks left
    assert Accrual.objects.filter(date=day).count() == 5
    assert AccrualRun.objects.get(pk=run.pk).status == "done"
    assert_reconciled()


def test_dispatch_fans_out_chunks_and_walks_missing_days_in_order(book, django_capture_on_commit_callbacks):
    queued: list[int] = []
    with at(2026, 3, 4, 0, 5):  # 2 and 3 March pending
        with django_capture_on_commit_callbacks(execute=True):
            first = accrual.accrual_dispatch(queued.append, chunk_size=2)
        assert (first.state, first.date, first.chunks) == ("dispatched", dt.date(2026, 3, 2), 3)
        assert len(queued) == 3
        with django_capture_on_commit_callbacks(execute=True):  # a second beat: nothing new to hand out
            assert accrual.accrual_dispatch(queued.append).state == "in progress"
        assert len(queued) == 3
        outcomes = [accrual.chunk_process(chunk_id) for chunk_id in queued]
        assert [o.run_finished for o in outcomes] == [False, False, True]
        with django_capture_on_commit_callbacks(execute=True):
            second = accrual.accrual_dispatch(queued.append, chunk_size=10)
        assert (second.date, second.chunks) == (dt.date(2026, 3, 3), 1)
        accrual.chunk_process(queued[-1])
        assert accrual.accrual_dispatch(queued.append).state == "up to date"
    assert AccrualChunk.objects.get(pk=queued[0]).dispatches == 1
    assert list(Accrual.objects.order_by("date").values_list("date", flat=True).distinct()) == [dt.date(2026, 3, 2),
                                                                                   dt.date(2026, 3, 3)]
    assert_reconciled()


def _other_session():
    db = settings.DATABASES["default"]
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                           password=db["PASSWORD"] or None, dbname=connection.settings_dict["NAME"], autocommit=True)


def test_a_second_scheduler_is_a_no_op_while_a_run_holds_the_lock(book):
    with _other_session() as other, at(2026, 3, 3, 0, 5):
        other.execute("SELECT pg_advisory_lock(%s)", [accrual.ACCRUAL_LOCK])
        assert accrual.accrual_dispatch(lambda _: None).state == "locked"
        assert accrual.accrue_pending() is None
        other.execute("SELECT pg_advisory_unlock(%s)", [accrual.ACCRUAL_LOCK])
    assert not AccrualRun.objects.exists()


def test_the_sweeper_hands_out_chunks_whose_message_was_lost(book, django_capture_on_commit_callbacks):
    lost: list[int] = []
    with at(2026, 3, 3, 0, 5), django_capture_on_commit_callbacks(execute=True):
        accrual.accrual_dispatch(lost.append, chunk_size=2)
    with at(2026, 3, 3, 0, 8), django_capture_on_commit_callbacks(execute=True):
        assert accrual.accrual_sweep(lost.append, timeout=600) == []  # not stale yet
    again: list[int] = []
    with at(2026, 3, 3, 0, 20), django_capture_on_commit_callbacks(execute=True):
        assert accrual.accrual_sweep(again.append, timeout=600) == sorted(lost)
    assert sorted(again) == sorted(lost)
    assert set(AccrualChunk.objects.values_list("dispatches", flat=True)) == {2}
    for chunk_id in again:
        accrual.chunk_process(chunk_id)
    assert Accrual.objects.count() == 5
    with at(2026, 3, 3, 1, 0), django_capture_on_commit_callbacks(execute=True):
        assert accrual.accrual_sweep(again.append, timeout=600) == []  # done chunks stay done


def test_a_day_cannot_be_accrued_before_the_days_before_it(book):
    with at(2026, 3, 5, 1), pytest.raises(ValueError, match="2026-03-02 is not accrued yet"):
        accrual.accrue_day(dt.date(2026, 3, 4))


def test_scenario_3_day_count_basis_through_the_engine(assets, fund):
    results = {}
    for basis in (360, 365):
        product = live_product("USDT", "fixed", term_days=30, tiers=[(0, None, "0.10")], day_count_basis=basis)
        user = UserFactory(country="SG")
        fund(user, "USDT", "1000")
        acknowledge(user, product)
        with at(2026, 3, 1, 9):
            sub = subscription_create(user=user, product_id=product.pk, amount="1000")
        results[basis] = sub.position_id
    with at(2026, 4, 1, 0, 5):
        accrual.accrue_pending()
    totals = {basis: sum(Accrual.objects.filter(position_id=pid).values_list("posted", flat=True))
              for basis, pid in results.items()}
    assert totals == {360: D("8.33333333"), 365: D("8.21917808")}


def _compounding_1000_at_10_percent(fund):
    """A customer with 1 000 USDT in a 10 % flexible product from 2 March 2026, auto-compound on."""
    product = live_product("USDT", tiers=[(0, None, "0.10")])
    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000")
        position_set_auto_compound(user=user, position_id=sub.position_id, auto_compound=True)
    return product, user, sub


def test_auto_compound_adds_the_days_interest_to_principal_from_the_next_day(assets, fund):
    product, user, sub = _compounding_1000_at_10_percent(fund)
    with at(2026, 3, 4, 0, 5):
        accrual.accrue_pending()  # 2 and 3 March
    day1, day2 = Accrual.objects.filter(position_id=sub.position_id).order_by("date")
    assert (day1.payout, day1.base, day1.posted) == ("compound", D("1000"), D("0.27397260"))
    assert day2.base == D("1000.27397260")  # day 1's interest earns on day 2
    assert day2.exact == D("0.274047663726027397")
    position = Position.objects.get(pk=sub.position_id)
    assert position.principal == D("1000") + day1.posted + day2.posted
    assert balance(user, "USDT", AccountKind.EARN) == position.principal
    assert balance(user, "USDT") == 0
    assert list(PositionChange.objects.filter(position=position, reason="compound")
                .values_list("effective_date", flat=True)) == [dt.date(2026, 3, 3), dt.date(2026, 3, 4)]
    product.refresh_from_db()
    assert product.sold_amount == position.principal
    assert_reconciled()


def test_scenario_4_compounding_through_the_engine_matches_the_apy(assets, fund):
    """30 days compounded at 10 % APR: (1 + 0.1/365)^30 − 1 of 1000, less at most a unit per day."""
    product, user, sub = _compounding_1000_at_10_percent(fund)
    with at(2026, 4, 1, 0, 5):
        accrual.accrue_pending()
    earned = Position.objects.get(pk=sub.position_id).principal - 1000
    expected = D(1000) * ((1 + D("0.1") / 365) ** 30 - 1)
    assert D(0) <= expected - earned < D("0.00000030")
    assert_reconciled()


def test_compounding_past_the_cap_or_after_closing_is_paid_out_instead(assets, fund):
    capped = live_product("USDT", tiers=[(0, None, "0.10")], total_cap="1000")
    open_ended = live_product("USDT", tiers=[(0, None, "0.10")])
    full, closing = UserFactory(country="SG"), UserFactory(country="SG")
    for user, product, amount in ((full, capped, "1000"), (closing, open_ended, "500")):
        fund(user, "USDT", amount)
        acknowledge(user, product)
    with at(2026, 3, 1, 9):
        a = subscription_create(user=full, product_id=capped.pk, amount="1000")
        b = subscription_create(user=closing, product_id=open_ended.pk, amount="500")
        for user, sub in ((full, a), (closing, b)):
            position_set_auto_compound(user=user, position_id=sub.position_id, auto_compound=True)
    with at(2026, 3, 3, 0, 1):  # after midnight, before the run: b is redeemed in full
        redemption_create(user=closing, position_id=b.position_id, amount="500", mode="fast")
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_pending()
    assert dict(Accrual.objects.values_list("position_id", "payout")) == {a.position_id: "daily",
                                                                        b.position_id: "daily"}
    assert Position.objects.get(pk=a.position_id).principal == D("1000")
    assert balance(full, "USDT") == D("0.27397260")
    assert balance(closing, "USDT") == D("500") + D("0.13698630")
    capped.refresh_from_db()
    assert capped.sold_amount == D("1000")
    assert_reconciled()


def test_reconcile_finds_carry_and_interest_that_do_not_add_up(book):
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_pending()
    assert_reconciled()
    first, last = Accrual.objects.order_by("id")[:1].get(), Accrual.objects.order_by("-id")[:1].get()
    Accrual.objects.filter(pk=first.pk).update(carry=first.carry + D("0.000000000000000001"))
    Accrual.objects.filter(pk=last.pk).update(posted=last.posted + D("0.00000001"))
    names = {m.check for m in ledger_reconcile().mismatches}
    assert {"earn_accrual_carry", "earn_interest_paid"} <= names


def test_run_accrual_shows_progress_and_a_summary(book, capsys):
    with at(2026, 3, 4, 0, 5):
        call_command("run_accrual", "--chunk-size", "2")
    out, err = capsys.readouterr()
    assert "2026-03-02: 5 positions in 3 chunk(s); posted USDT 1.36986300" in out
    assert "2026-03-03: 5 positions in 3 chunk(s)" in out and "positions/s" in out
    assert "5/5" in err and "pos" in err  # the bar: rows done / planned, with rate


def test_auto_compound_is_only_for_active_flexible_positions(assets, fund):
    fixed = live_product("USDT", "fixed", tiers=[(0, None, "0.05")])
    user = UserFactory(country="SG")
    fund(user, "USDT", "100")
    acknowledge(user, fixed)
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=fixed.pk, amount="100")
    client = APIClient()
    client.force_authenticate(user)
    response = client.patch(f"/api/v1/positions/{sub.position_id}", {"auto_compound": True}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "auto_compound"
    assert client.patch(f"/api/v1/positions/{sub.position_id}", {}, format="json").status_code == 400


def test_a_catch_up_renews_matured_positions_in_time_for_the_days_after(assets, fund):
    product = live_product("USDT", "fixed", term_days=5, tiers=[(0, None, "0.10")], auto_renew_allowed=True)
    user = UserFactory(country="SG")
    fund(user, "USDT", "1000")
    acknowledge(user, product)
    with at(2026, 3, 1, 9):
        sub = subscription_create(user=user, product_id=product.pk, amount="1000", auto_renew=True)
    assert sub.maturity_date == dt.date(2026, 3, 7)
    with at(2026, 3, 9, 0, 5):  # down from 2 to 8 March: one catch-up
        accrual.accrue_pending()
    renewal = Position.objects.get(renewed_from_id=sub.position_id)
    assert renewal.value_date == dt.date(2026, 3, 7)
    assert list(Accrual.objects.filter(position=renewal).order_by("date").values_list("date", flat=True)) == \
        [dt.date(2026, 3, 7), dt.date(2026, 3, 8)]
    assert list(Accrual.objects.filter(position_id=sub.position_id).order_by("date")
                .values_list("date", flat=True)) == [dt.date(2026, 3, d) for d in (2, 3, 4, 5, 6)]
    assert_reconciled()


def test_operators_see_a_days_chunks_in_the_admin(book, client):
    with at(2026, 3, 3, 0, 5):
        accrual.accrue_day(dt.date(2026, 3, 2), chunk_size=2)
    admin_user = UserFactory(is_staff=True, is_superuser=True, country="HK")
    admin_login(client, admin_user)
    run = AccrualRun.objects.get()
    listing = client.get("/admin/earn/accrualrun/")
    assert listing.status_code == 200 and "3 / 3" in listing.content.decode()
    page = client.get(f"/admin/earn/accrualrun/{run.pk}/change/")
    assert page.status_code == 200 and page.content.decode().count("done") >= 3
