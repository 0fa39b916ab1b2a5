"""Monthly statements: figures reconcile to the ledger to the unit; PDF (with Chinese characters) and CSV; the run
resumes; customers download their own only."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from earn.models import Accrual
from earn.services import accrual
from earn.services.redemptions import redemption_create
from earn.services.subscriptions import subscription_create
from ledger.models import LedgerAccount
from notifications.models import Notification
from statements.models import Statement, StatementRun
from statements.render import statement_csv, statement_pdf
from statements.services import statement_build, statements_run
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge, at
from tests.factories import UserFactory

D = Decimal
MARCH = dt.date(2026, 3, 1)
pytestmark = pytest.mark.django_db


def balances(user):
    out: dict[str, Decimal] = {}
    for asset, balance in LedgerAccount.objects.filter(owner=user).values_list("asset_id", "balance"):
        out[asset] = out.get(asset, D(0)) + balance
    return out


@pytest.fixture
def march(assets, fund):
    """A customer active in March: a fixed and a flexible product, interest every day, an early redemption."""
    fixed = live_product("USDT", "fixed", term_days=30, name_en="USDT 30 days", name_zh_hant="USDT 三十天定期",
                         early_redemption="forfeit_interest", tiers=[(0, None, "0.05")])
    flexible = live_product("USDT", "demand", name_en="USDT Flexible", name_zh_hant="USDT 活期",
                            tiers=[(0, None, "0.10")])
    user = UserFactory(country="HK", language="zh-hant", display_name="陳大文")
    other = UserFactory(country="HK")
    with at(2026, 2, 20, 9):
        fund(user, "USDT", "5000")
        fund(other, "USDT", "10")
        acknowledge(user, fixed)
        acknowledge(user, flexible)
    with at(2026, 2, 27, 9):
        subscription_create(user=user, product_id=flexible.pk, amount="1500")
    with at(2026, 2, 28, 23, 59):
        accrual.accrue_pending()
        february = balances(user)  # the ledger when March opens (the 28th's interest is credited on March 1)
    with at(2026, 3, 5, 10):
        accrual.accrue_pending()
        sub = subscription_create(user=user, product_id=fixed.pk, amount="1000")
    with at(2026, 3, 20, 10):
        accrual.accrue_pending()
        redemption_create(user=user, position_id=sub.position_id, amount=None, mode="fast")
    with at(2026, 3, 31, 23, 59):
        accrual.accrue_pending()
        end_of_march = balances(user)
    with at(2026, 4, 1, 3):
        accrual.accrue_pending()
    return {"user": user, "other": other, "fixed": fixed, "flexible": flexible, "opening": february,
            "closing": end_of_march}


def test_statement_reconciles_to_the_ledger_to_the_unit(march):
    user = march["user"]
    with at(2026, 4, 1, 3):
        statement, created = statement_build(user=user, month=MARCH)
    assert created and statement.month == MARCH
    (usdt,) = statement.figures["assets"]
    assert usdt["asset"] == "USDT"
    assert D(usdt["opening"]) == march["opening"]["USDT"] and D(usdt["closing"]) == march["closing"]["USDT"]
    movements = {m["kind"]: D(m["amount"]) for m in usdt["movements"]}
    assert D(usdt["opening"]) + sum(movements.values()) == D(usdt["closing"])
    assert sum(D(v) for v in usdt["closing_by_kind"].values()) == D(usdt["closing"])
    credited = Accrual.objects.filter(position__user=user, created_at__gte=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                                      created_at__lt=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    interest = {line["name"]["en"]: D(line["amount"]) for line in usdt["interest"]}
    assert set(interest) == {"USDT 30 days", "USDT Flexible"}
    assert sum(interest.values()) == sum(a.posted for a in credited) == movements["accrual"]
    forfeits = {line["name"]["en"]: D(line["amount"]) for line in usdt["forfeits"]}
    assert forfeits["USDT 30 days"] > 0 and movements["redemption"] == -forfeits["USDT 30 days"]
    assert D(usdt["into_earn"]) == D(1000) and D(usdt["out_of_earn"]) == D(1000)
    assert statement_build(user=user, month=MARCH) == (statement, False)  # written once


def test_pdf_embeds_a_cjk_font_and_renders_chinese(march):
    with at(2026, 4, 1, 3):
        statement, _created = statement_build(user=march["user"], month=MARCH)
    pdf = statement_pdf(statement.figures, "zh-hant")
    assert pdf.startswith(b"%PDF") and len(pdf) < 200_000  # a subset, not the 4.6 MB font
    assert b"WenQuanYi" in pdf and b"/FontFile2" in pdf
    streams = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            streams.append(zlib.decompress(match.group(1)))
        except zlib.error:
            streams.append(match.group(1))
    cmap = b"".join(s for s in streams if b"beginbfchar" in s or b"beginbfrange" in s)
    for char in "月結單活期陳":  # title, product name, customer name: mapped glyphs, not "?"
        assert f"<{ord(char):04X}>".encode() in cmap.upper(), char
    english = statement_pdf(statement.figures, "en")
    assert english.startswith(b"%PDF") and english != pdf


def test_csv_lists_every_line_in_the_customers_language(march):
    with at(2026, 4, 1, 3):
        statement, _created = statement_build(user=march["user"], month=MARCH)
    rows = statement_csv(statement.figures, "zh-hant").splitlines()
    assert rows[0] == "month,asset,section,label,amount"
    assert any(r.startswith("2026-03,USDT,interest,USDT 活期,") for r in rows)
    assert any(r.startswith("2026-03,USDT,balance,期末結餘,") for r in rows)
    english = statement_csv(statement.figures, "en").splitlines()
    assert any(r.startswith("2026-03,USDT,balance,Closing balance,") for r in english)


def test_run_resumes_and_notifies_once(march, django_capture_on_commit_callbacks):
    with at(2026, 4, 1, 3), django_capture_on_commit_callbacks(execute=True):
        run = statements_run(MARCH, chunk_size=1, max_chunks=1)
        assert run.status == "running" and run.customers == 1
        run = statements_run(MARCH, chunk_size=1)
        assert run.status == "done"
        again = statements_run(MARCH)
    assert again.pk == run.pk and StatementRun.objects.count() == 1
    assert set(Statement.objects.values_list("user_id", flat=True)) == {march["user"].pk, march["other"].pk}
    note = Notification.objects.get(user=march["user"], kind="statement_ready")
    assert note.link == "/statements" and "2026年3月" in note.subject
    assert Notification.objects.filter(kind="statement_ready").count() == 2


def test_command_refuses_a_month_not_ended_and_reports_progress(march, capsys):
    with at(2026, 3, 31, 12), pytest.raises(CommandError, match="has not ended"):
        call_command("statements", "--month", "2026-03")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("statements", "--month", "March")
    with at(2026, 4, 1, 3), pytest.raises(CommandError, match="has not ended"):
        call_command("statements", "--month", "9999-12")  # its end is past the calendar: was a ValueError traceback
    with at(2026, 4, 1, 3):
        call_command("statements", "--month", "2026-03", "--chunk-size", "1")
    out = capsys.readouterr().out
    assert "2026-03: 1 customers looked at" in out and "2026-03: done, 2 customers, 2 statements" in out


def test_portal_lists_and_downloads_own_statements_only(march, client):
    with at(2026, 4, 1, 3):
        statements_run(MARCH)
    mine = Statement.objects.get(user=march["user"])
    theirs = Statement.objects.get(user=march["other"])
    client.force_login(march["user"])
    page = client.get("/statements").content.decode()
    assert "2026-03" in page and f"/statements/{mine.pk}.pdf" in page and f"/statements/{theirs.pk}" not in page
    pdf = client.get(f"/statements/{mine.pk}.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "earn-statement-2026-03.pdf" in pdf["Content-Disposition"]
    csv = client.get(f"/statements/{mine.pk}.csv")
    assert csv.status_code == 200 and csv.content.decode().startswith("month,asset,section,label,amount")
    assert client.get(f"/statements/{theirs.pk}.pdf").status_code == 404
    assert client.get(f"/statements/{theirs.pk}.csv").status_code == 404


def test_annual_income_export_names_the_price_used(march, client):
    from pricing.services import price_record
    from statements.income import income_rows

    user = march["user"]
    early = price_record(asset_code="USDT", price_usd="1.0001", source="feed-a",
                         as_of=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    later = price_record(asset_code="USDT", price_usd="0.9998", source="feed-b",
                         as_of=dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC))
    rows = income_rows(user, 2026)
    credited = Accrual.objects.filter(position__user=user, posted__gt=0)
    assert len(rows) == credited.count() and {r["kind"] for r in rows} == {"interest"}
    assert sum(r["amount"] for r in rows) == sum(a.posted for a in credited)
    for row in rows:
        expected = early if row["credited_at"] < later.as_of else later
        assert row["snapshot"].pk == expected.pk
        assert row["usd_value"] == (row["amount"] * expected.price_usd).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert income_rows(user, 2025) == []
    client.force_login(user)
    client.cookies["django_language"] = "zh-hant"
    page = client.get("/statements").content.decode()
    assert "/statements/income/2026.csv" in page and "報稅用收入紀錄" in page
    body = client.get("/statements/income/2026.csv").content.decode().splitlines()
    assert body[0] == ("credited_at,kind,product_id,product,asset,amount,price_usd,price_snapshot,price_source,"
                       "price_as_of,usd_value")
    assert len(body) == len(rows) + 1 and f",{later.pk},feed-b," in body[-1] and ",USDT 活期," in "".join(body)


def test_beat_builds_last_months_statements_once_the_last_accrual_is_in(march, settings):
    from statements.services import MonthNotReady
    from statements.tasks import statements_monthly_task

    entry = settings.CELERY_BEAT_SCHEDULE["statements-monthly"]
    assert entry["task"] == "statements.tasks.statements_monthly_task"
    assert entry["schedule"].day_of_month == {1}
    with at(2026, 4, 1, 3):
        assert statements_monthly_task.apply().get() == {"month": "2026-03", "customers": 2, "statements": 2}
    with at(2026, 4, 10, 1):
        accrual.accrue_pending()  # April's accrual runs exist, the 30th's not yet
    with at(2026, 5, 1, 0, 1), pytest.raises(MonthNotReady, match="2026-04-30"):
        statements_run(dt.date(2026, 4, 1))
    assert not StatementRun.objects.filter(month=dt.date(2026, 4, 1)).exists()
