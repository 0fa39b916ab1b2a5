"""GET /api/v1/ledger/entries: the caller's postings, filtered, cursor-paginated, or streamed as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.http import StreamingHttpResponse

from ledger import services as ledger
from ledger.models import AccountKind, EntryKind

URL = "/api/v1/ledger/entries"


def _fund_on(fund, user, asset, amount, day):
    with time_machine.travel(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC), tick=False):
        return fund(user, asset, amount)


def _all_pages(client, url):
    rows, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        rows.extend(body["results"])
        url = body["next"]
        pages += 1
    return rows, pages


def test_lists_the_callers_postings_with_their_entry(customer, customer_client, assets, fund):
    entry = fund(customer, "USDT", "100.5")
    response = customer_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["previous"] is None and body["next"] is None
    [row] = body["results"]
    assert row["entry"] == entry.pk
    assert row["kind"] == "deposit"
    assert row["key"] == entry.idempotency_key
    assert row["reference"] == entry.reference
    assert row["asset"] == "USDT"
    assert row["account"] == "available"
    assert row["side"] == "C"
    assert row["amount"] == "100.50000000"
    assert dt.datetime.fromisoformat(row["created_at"]) == entry.created_at


def test_never_shows_other_owners_legs(customer, customer_client, assets, fund, user_factory):
    """Only the caller's own postings: not the platform's leg of the same entry, not another customer's."""
    bob = user_factory(email="bob@gb.example", country="GB")
    fund(customer, "USDT", "10")
    fund(bob, "USDT", "20")
    rows = customer_client.get(URL).json()["results"]
    assert [(r["account"], r["amount"]) for r in rows] == [("available", "10.00000000")]


def test_subscription_shows_both_of_the_callers_legs(customer, customer_client, assets, fund):
    fund(customer, "USDT", "100")
    available = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.AVAILABLE)
    earn = ledger.account_for(owner_id=customer.pk, asset="USDT", kind=AccountKind.EARN)
    ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub-1", debit=available, credit=earn,
                    amount=Decimal("30"))
    rows = customer_client.get(URL, {"kind": "subscription"}).json()["results"]
    assert sorted((r["account"], r["side"], r["amount"]) for r in rows) == [
        ("available", "D", "30.00000000"), ("earn", "C", "30.00000000")]


def test_filters_by_date_range_asset_and_kind(customer, customer_client, assets, fund):
    """`from`/`to` are whole UTC days, inclusive; any length of range is accepted."""
    _fund_on(fund, customer, "USDT", "1", dt.date(2025, 12, 31))
    _fund_on(fund, customer, "USDT", "2", dt.date(2026, 1, 1))
    _fund_on(fund, customer, "BTC", "3", dt.date(2026, 1, 31))
    _fund_on(fund, customer, "USDT", "4", dt.date(2026, 2, 1))

    def amounts(**params):
        return [r["amount"] for r in customer_client.get(URL, params).json()["results"]]

    assert amounts(**{"from": "2026-01-01", "to": "2026-01-31"}) == ["2.00000000", "3.00000000"]
    assert amounts(**{"from": "2026-01-01", "asset": "usdt"}) == ["2.00000000", "4.00000000"]
    assert amounts(to="2026-01-01") == ["1.00000000", "2.00000000"]
    assert amounts(**{"from": "2000-01-01", "to": "2099-12-31", "kind": "deposit"}) == [
        "1.00000000", "2.00000000", "3.00000000", "4.00000000"]
    assert amounts(kind="accrual") == []
    assert amounts(**{"from": "2026-01-31T12:00:00Z", "to": "2026-01-31T12:00:00Z"}) == ["3.00000000"]


@pytest.mark.parametrize(("params", "code", "field"), [
    ({"from": "2026-13-01"}, "INVALID", "from"),
    ({"to": "yesterday"}, "INVALID", "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "INVALID_RANGE", "to"),
    ({"asset": "DOGE"}, "UNKNOWN_ASSET", "asset"),
    ({"kind": "gift"}, "INVALID_CHOICE", "kind"),
    ({"cursor": "not-a-cursor"}, "INVALID_CURSOR", "cursor"),
])
def test_bad_filters_are_400_with_code_and_field(customer_client, assets, params, code, field):
    response = customer_client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["detail"]


def test_bad_filter_with_csv_answers_json(customer_client, assets):
    response = customer_client.get(URL, {"from": "nope", "format": "csv"})
    assert response.status_code == 400
    assert response.json()["field"] == "from"


def test_cursor_pages_cover_every_row_once_even_with_equal_timestamps(customer, customer_client, assets, fund):
    """Rows sharing one created_at (one batch) are neither skipped nor repeated across pages."""
    with time_machine.travel(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), tick=False):
        for _ in range(7):
            fund(customer, "USDT", "1")
    fund(customer, "USDT", "2")
    rows, pages = _all_pages(customer_client, f"{URL}?page_size=3")
    assert pages == 3
    ids = [r["id"] for r in rows]
    assert len(ids) == 8 == len(set(ids))
    assert [(r["created_at"], r["id"]) for r in rows] == sorted((r["created_at"], r["id"]) for r in rows)


def test_previous_link_walks_back(customer, customer_client, assets, fund):
    for _ in range(5):
        fund(customer, "USDT", "1")
    first = customer_client.get(URL, {"page_size": 2}).json()
    second = customer_client.get(first["next"]).json()
    back = customer_client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]
    assert back["previous"] is None
    assert back["next"] is not None


def test_list_query_count_is_constant(customer, customer_client, assets, fund, django_assert_num_queries):
    """One query per page whatever the number of postings (and one more to check an asset filter)."""
    fund(customer, "USDT", "1")
    with django_assert_num_queries(1):
        customer_client.get(URL)
    for _ in range(30):
        fund(customer, "USDT", "1")
    with django_assert_num_queries(1):
        body = customer_client.get(URL, {"page_size": 10}).json()
    with django_assert_num_queries(1):
        customer_client.get(body["next"])
    with django_assert_num_queries(2):
        customer_client.get(URL, {"asset": "USDT"})


def _csv_rows(response):
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_csv_streams_every_row(customer, customer_client, assets, fund):
    for amount in ("1", "2", "3"):
        fund(customer, "BTC", amount)
    response = customer_client.get(URL, {"format": "csv", "asset": "BTC"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv_rows(response)
    assert header == ["id", "entry", "created_at", "kind", "key", "reference", "asset", "account", "side", "amount"]
    assert [r[-1] for r in rows] == ["1.00000000", "2.00000000", "3.00000000"]
    assert {r[3] for r in rows} == {"deposit"}
    assert all(r[2].endswith("Z") for r in rows)


def test_csv_neutralises_formulas(customer, customer_client, assets):
    """A reference that a spreadsheet would run as a formula is written as text."""
    ledger.deposit_credit(user_id=customer.pk, asset="USDT", amount=Decimal("1"), reference="=HYPERLINK(\"x\")")
    _, row = _csv_rows(customer_client.get(URL, {"format": "csv"}))
    assert row[5] == "'=HYPERLINK(\"x\")"


def test_csv_query_count_does_not_grow_with_rows(customer, customer_client, assets, fund,
                                                  django_assert_max_num_queries):
    """The CSV is read through a server-side cursor in chunks: constant statements, constant memory."""
    for _ in range(25):
        fund(customer, "USDT", "1")
    with django_assert_max_num_queries(2):
        rows = _csv_rows(customer_client.get(URL, {"format": "csv"}))
    assert len(rows) == 26
