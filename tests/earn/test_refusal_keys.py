"""A refusal decided before any transaction, and the Idempotency-Key (issue 17; core.idempotency).

A subscription refused by the gate or a full cap is recorded by one statement that also claims the key, with no
transaction block; a redemption refused on its position is answered from one read that also says whether the key
holds an answer. Neither may answer a refusal where the key's first request was answered: a retry is replayed,
a concurrent retry waits for the first and replays it, and a refused request releases its key.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from compliance.models import Refusal
from core.idempotency import IdempotentRequest
from core.models import IdempotencyRecord
from earn.models import Position, Product
from ledger.models import AccountKind
from ledger.reconcile import ledger_reconcile
from tests.earn.factories import live_product
from tests.earn.helpers import balance
from tests.earn.test_subscription_statements import _customer, _subscribe, quiet_notifications  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _post(client, product, amount, key):
    return client.post("/api/v1/subscriptions", {"product": product.pk, "amount": amount}, format="json",
                       HTTP_IDEMPOTENCY_KEY=key)


def _refusals(user):
    return list(Refusal.objects.filter(user=user).values_list("codes", flat=True))


def test_a_refusal_at_a_full_cap_is_two_statements_after_the_token_and_no_transaction(
        assets, fund, quiet_notifications):  # noqa: F811
    product = live_product("USDT", total_cap="100")
    user, client = _customer(product, fund)
    _subscribe(client, product, "100", "fills")
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, product, "10", "refused")
    assert response.status_code == 409 and response.json()["code"] == "CAP_REACHED"
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 3, "\n".join(statements)  # the token, the offer with the gate's facts, the refusal
    assert not [sql for sql in statements if sql in ("BEGIN", "ROLLBACK", "COMMIT")]
    assert _refusals(user) == [["CAP_REACHED"]]
    released = IdempotencyRecord.objects.get(user=user, key="refused")
    assert released.response_status is None and released.response_body is None


def test_a_refused_request_releases_its_key(assets, fund, quiet_notifications):  # noqa: F811
    """Refused (the cap is full), then room is made: the same key runs afresh and subscribes."""
    product = live_product("USDT", total_cap="100")
    user, client = _customer(product, fund)
    _subscribe(client, product, "100", "fills")
    assert _post(client, product, "10", "again").status_code == 409
    Product.objects.filter(pk=product.pk).update(total_cap=Decimal("200"))
    retried = _post(client, product, "10", "again")
    assert retried.status_code == 201, retried.json()
    assert "Idempotent-Replayed" not in retried
    assert IdempotencyRecord.objects.get(user=user, key="again").response_status == 201
    assert Position.objects.get(user=user).principal == Decimal("110")
    assert ledger_reconcile().ok


def test_a_retry_of_the_subscription_that_filled_the_cap_is_replayed_not_refused(
        assets, fund, quiet_notifications):  # noqa: F811
    product = live_product("USDT", total_cap="100")
    user, client = _customer(product, fund)
    first, _ = _subscribe(client, product, "100", "fills")
    retry = _post(client, product, "100", "fills")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert _refusals(user) == []  # nothing refused: the key's answer stands
    reused = _post(client, product, "50", "fills")  # the same key for another body, at a full cap
    assert reused.status_code == 409 and reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert _refusals(user) == []
    assert balance(user, "USDT", AccountKind.EARN) == Decimal("100")


def _hold_key(user, product, amount, key, *, outcome, claimed, release):
    """Another request with this key, in flight: it claims the key in its transaction and waits for `release`;
    then commits an answer (`outcome` 201) or fails (rolls back)."""
    request = IdempotentRequest.of(user=user, key=key, scope="subscriptions",
                                   payload={"product": product.pk, "amount": amount, "auto_renew": False})

    def action():
        claimed.set()
        assert release.wait(10)
        if outcome != 201:
            raise RuntimeError("the first request failed")
        return 201, {"id": 4242, "note": "the first request's answer"}

    try:
        request.run(action)
    except RuntimeError:
        pass
    finally:
        connections.close_all()


@pytest.mark.parametrize("outcome", [201, 500])
def test_a_concurrent_retry_refused_at_the_cap_waits_for_the_first_and_replays_it(
        assets, fund, quiet_notifications, outcome):  # noqa: F811
    """The retry's read says CAP_REACHED (the cap was full before either); its refusal's statement claims the key,
    so it waits on the first request's claim: that one answered, the retry replays it and records no refusal;
    that one failed, the retry's refusal is recorded."""
    product = live_product("USDT", total_cap="100")
    user, client = _customer(product, fund)
    _subscribe(client, product, "100", "fills")
    claimed, release = threading.Event(), threading.Event()
    first = threading.Thread(target=_hold_key, args=(user, product, "10", "shared"),
                             kwargs={"outcome": outcome, "claimed": claimed, "release": release})
    first.start()
    assert claimed.wait(10)
    answers = []
    retry = threading.Thread(target=lambda: (answers.append(_post(client, product, "10", "shared")),
                                             connections.close_all()))
    retry.start()
    retry.join(1.0)
    assert retry.is_alive()  # waiting on the first request's claim of the key
    release.set()
    first.join(10)
    retry.join(10)
    (answer,) = answers
    if outcome == 201:
        assert answer.status_code == 201 and answer["Idempotent-Replayed"] == "true"
        assert answer.json() == {"id": 4242, "note": "the first request's answer"}
        assert _refusals(user) == []
    else:
        assert answer.status_code == 409 and answer.json()["code"] == "CAP_REACHED"
        assert _refusals(user) == [["CAP_REACHED"]]
        assert IdempotencyRecord.objects.get(user=user, key="shared").response_status is None


def test_a_redemption_refused_on_its_position_takes_no_transaction_but_a_retry_of_the_closing_one_is_replayed(
        assets, fund, quiet_notifications):  # noqa: F811
    product = live_product("USDT", "fixed", term_days=30, early_redemption="forfeit_interest")
    user, client = _customer(product, fund)
    subscribed, _ = _subscribe(client, product, "100", "lot")
    url = f"/api/v1/positions/{subscribed.json()['position']}/redemptions"
    closing = client.post(url, {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="close")
    assert closing.status_code == 201, closing.json()
    with CaptureQueriesContext(connection) as queries:
        refused = client.post(url, {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="close-again")
    assert refused.status_code == 409 and refused.json()["code"] == "POSITION_CLOSED"
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 2, "\n".join(statements)  # the token, the position with the key's state
    assert not IdempotencyRecord.objects.filter(user=user, key="close-again").exists()
    retry = client.post(url, {"mode": "fast"}, format="json", HTTP_IDEMPOTENCY_KEY="close")
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"
    assert retry.json() == closing.json()
    assert balance(user, "USDT") == Decimal("10000")
    assert ledger_reconcile().ok


def test_someone_elses_position_is_404_whatever_the_key(assets, fund, quiet_notifications):  # noqa: F811
    product = live_product("USDT")
    _owner, owner_client = _customer(product, fund)
    subscribed, _ = _subscribe(owner_client, product, "100", "mine")
    _other, other_client = _customer(product, fund)
    url = f"/api/v1/positions/{subscribed.json()['position']}/redemptions"
    for key in ("mine", "x" * 500, "tab\tkey", None):  # (a NUL anywhere is refused before: 400)
        headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
        response = other_client.post(url, {"amount": "10", "mode": "fast"}, format="json", **headers)
        assert response.status_code == 404, (key, response.content)


def test_the_money_paths_statements_are_prepared_once_per_connection(assets, fund, quiet_notifications):  # noqa: F811
    """On a direct connection the subscription's read of offer and gate facts, the redemption's position reads and
    the money paths' writes are prepared statements (planned once per connection); behind a pooler without them,
    plain ones. None reads a table with month partitions (a generic plan would lock every month: the lock footprint
    test counts them); inserting into one is fine (the row's partition is opened when the row is routed)."""
    product = live_product("USDT")
    _user, client = _customer(product, fund)
    subscribed, _ = _subscribe(client, product, "100", "one")
    _subscribe(client, product, "100", "two")
    url = f"/api/v1/positions/{subscribed.json()['position']}/redemptions"
    assert client.post(url, {"amount": "10", "mode": "fast"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="r").status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    if connection.connection.prepare_threshold is None:  # behind PgBouncer without DATABASE_PREPARED_STATEMENTS
        assert prepared == [], prepared
        return
    assert len([s for s in prepared if "LEFT JOIN LATERAL" in s and "earn_productterms" in s]) >= 2, prepared
    assert [s for s in prepared if "FOR UPDATE OF pos" in s], prepared
    assert [s for s in prepared if "INSERT INTO ledger_journalentrykey" in s], prepared
    partitioned = ("earn_accrual", "ledger_journalentry", "ledger_posting", "compliance_acknowledgement",
                   "compliance_auditevent")
    read = [s for s in prepared for table in partitioned
            if re.search(rf"(?<!INSERT INTO )(?<!')\b{table}\b(?!key)", s)]  # (a quoted name is a value)
    assert read == [], read


def test_a_claim_writes_one_index_of_user_and_key(db):
    """The idempotency record's only index by customer is the unique (user, key) one; the foreign key's own
    index would be written by every claim and serves no query the unique one does not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [IdempotencyRecord._meta.db_table])
        indexes = sorted(row[0].split(" USING ")[1] for row in cursor.fetchall())
    assert indexes == ["btree (id)", "btree (user_id, key)"], indexes
