"""Ledger admin: assets are editable; accounts, entries and postings can be read, never written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from ledger import services as ledger
from ledger.models import AccountKind, Asset, EntryKind, JournalEntry, LedgerAccount, Posting
from tests.factories import admin_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_su(db) -> Client:
    user = User.objects.create_superuser("root@earn.example", "pass-word-123", country="HK")
    client = admin_login(Client(), user)
    return client


@pytest.fixture
def entry(usdt) -> JournalEntry:
    return ledger.transfer(kind=EntryKind.SUBSCRIPTION, idempotency_key="sub:admin-1", debit=usdt["available"],
                           credit=usdt["earn"], amount=Decimal("12.5"), reference="subscription-42")


def test_asset_can_be_added_and_renamed_but_not_rescaled(admin_client_su, assets):
    response = admin_client_su.post(reverse("admin:ledger_asset_add"), {"code": "SOL", "name": "Solana", "scale": 8})
    assert response.status_code == 302
    assert Asset.objects.get(code="SOL").scale == 8
    url = reverse("admin:ledger_asset_change", args=["SOL"])
    response = admin_client_su.post(url, {"code": "SOL", "name": "Solana (SPL)", "scale": 2})
    assert response.status_code == 302
    sol = Asset.objects.get(code="SOL")
    assert (sol.name, sol.scale) == ("Solana (SPL)", 8)


@pytest.mark.parametrize("model", ["ledgeraccount", "journalentry", "posting"])
def test_ledger_rows_cannot_be_added_changed_or_deleted(admin_client_su, entry, model):
    obj = {"ledgeraccount": LedgerAccount.objects.first(), "journalentry": entry,
           "posting": Posting.objects.first()}[model]
    assert admin_client_su.get(reverse(f"admin:ledger_{model}_add")).status_code == 403
    change_url = reverse(f"admin:ledger_{model}_change", args=[obj.pk])
    page = admin_client_su.get(change_url)
    assert page.status_code == 200  # viewable …
    assert b'name="_save"' not in page.content  # … with no save button
    assert admin_client_su.post(change_url, {}).status_code == 403
    assert admin_client_su.post(reverse(f"admin:ledger_{model}_delete", args=[obj.pk]),
                                {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_entry_page_shows_its_postings_read_only(admin_client_su, entry):
    page = admin_client_su.get(reverse("admin:ledger_journalentry_change", args=[entry.pk]))
    content = page.content.decode()
    assert "subscription-42" in content
    assert content.count("12.500000000000000000") >= 2  # both legs, shown not editable
    assert 'name="postings-0-amount"' not in content


def test_changelists_filter_and_search(admin_client_su, entry, usdt):
    ledger.deposit_credit(user_id=usdt["available"].owner_id, asset="BTC", amount="1", reference="btc-in")
    postings = reverse("admin:ledger_posting_changelist")
    page = admin_client_su.get(postings, {"q": "sub:admin-1"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    page = admin_client_su.get(postings, {"q": "subscription-42", "account__kind": AccountKind.EARN})
    assert page.context["cl"].result_count == 1
    page = admin_client_su.get(postings, {"asset__code__exact": "BTC"})
    assert page.context["cl"].result_count == 2
    page = admin_client_su.get(postings, {"account": usdt["available"].pk})  # the account page links here
    assert page.context["cl"].result_count == 2

    entries = reverse("admin:ledger_journalentry_changelist")
    assert admin_client_su.get(entries, {"q": "btc-in"}).context["cl"].result_count == 1
    assert admin_client_su.get(entries, {"kind__exact": EntryKind.SUBSCRIPTION}).context["cl"].result_count == 1

    accounts = reverse("admin:ledger_ledgeraccount_changelist")
    page = admin_client_su.get(accounts, {"kind__exact": AccountKind.AVAILABLE, "asset__code__exact": "USDT"})
    assert [row.pk for row in page.context["cl"].result_list] == [usdt["available"].pk]


def test_posting_changelist_query_count_does_not_grow_with_rows(admin_client_su, usdt, django_assert_max_num_queries):
    fees = ledger.platform_account(asset="USDT", kind=AccountKind.FEE_INCOME)
    ledger.entries_post([
        ledger.EntrySpec(EntryKind.FEE, f"fee:{i}", [ledger.Leg.debit(usdt["available"], "0.1"),
                                                      ledger.Leg.credit(fees, "0.1")])
        for i in range(40)
    ])
    with django_assert_max_num_queries(12):
        page = admin_client_su.get(reverse("admin:ledger_posting_changelist"))
    assert page.status_code == 200
