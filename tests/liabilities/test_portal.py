"""The portal's proof-of-liabilities page: public roots; a signed-in customer's own balances, proof and command."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from liabilities.models import LiabilitySnapshot
from tests.liabilities.helpers import DAY, build
from tests.portal.test_untranslated import english_words

pytestmark = pytest.mark.django_db


def test_anyone_sees_the_roots_and_a_customer_their_own_proof(book, django_assert_max_num_queries):
    client = Client()
    empty = client.get("/liabilities")
    assert empty.status_code == 200 and "Nothing published yet" in empty.content.decode()
    build()
    roots = {s.asset_id: s for s in LiabilitySnapshot.objects.filter(date=DAY)}
    page = client.get("/liabilities").content.decode()
    assert all(s.root in page for s in roots.values()) and "End of 2026-03-03 (UTC)" in page
    assert "Sign in to check" in page and "/api/v1/liabilities/proof" not in page
    saver = Client()
    saver.force_login(book["saver"])
    with django_assert_max_num_queries(12):
        mine = saver.get("/liabilities?date=2026-03-03").content.decode()
    assert "/api/v1/liabilities/proof?date=2026-03-03" in mine and "/verify/earn_verify.py" in mine
    assert (f"python3 earn_verify.py inclusion liabilities-2026-03-03.json --root BTC={roots['BTC'].root} "
            f"--root USDT={roots['USDT'].root}") in mine
    assert "600.00000000" in mine  # the saver's USDT in Earn
    late = Client()
    late.force_login(book["late"])
    assert "no entry in it" in late.get("/liabilities").content.decode()
    for hostile in ("x" * 5000, "2026-02-30", "<script>", "2026-W10-2", "0000-00-00", "9999-12-31"):
        response = client.get("/liabilities", {"date": hostile})
        assert response.status_code == 200 and "no snapshot was published for that date" in \
            response.content.decode().lower()
    assert client.get("/liabilities", {"date": "2026-03-03\x00"}).status_code == 400  # NUL: refused before the view


def test_the_page_is_translated(book):
    build()
    client = Client()
    client.cookies["django_language"] = "zh-hant"
    client.force_login(book["saver"])
    html = client.get("/liabilities").content.decode()
    assert "負債證明" in html and english_words(html, set(re.findall(r"[A-Za-z]+", book["saver"].name))) == []
