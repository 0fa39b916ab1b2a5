"""Acknowledgements partitioned by month: ids across months, references still enforced, retention, conversion.

A month of acknowledgements leaves the live table only when every position they back closed before the
retention cutoff; subscriptions keep pointing at a detached acknowledgement's id through the key table.
The conversion test migrates compliance back to 0012 and forward on a populated table.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from compliance.errors import NO_ACK
from compliance.gate import blocking_codes
from compliance.models import Acknowledgement, AcknowledgementKey
from compliance.selectors import acknowledgement_latest
from core.models import DetachedPartition
from core.partitions import PartitionError, detach_before
from earn.models import Position, Subscription
from earn.services.subscriptions import subscription_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory
from tests.partitioning import one as _one
from tests.partitioning import partitions

pytestmark = pytest.mark.django_db
UTC = dt.UTC
TABLE = "compliance_acknowledgement"


def _partitions() -> list[str]:
    return partitions(TABLE)


def _travel(y: int, m: int, d: int):
    return time_machine.travel(dt.datetime(y, m, d, 9, tzinfo=UTC), tick=False)


@pytest.fixture
def subscribed(fund):
    """A customer who acknowledged in February 2027 and subscribed with it in April 2027."""
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="SG")
    with _travel(2027, 2, 10):
        ack = acknowledge(user, product)
    with _travel(2027, 4, 2):
        fund(user, "USDT", "100")
        subscription = subscription_create(user=user, product_id=product.pk, amount="100")
    assert subscription.acknowledgement_id == ack.pk  # the one the gate accepted, found through the key table
    return subscription


def test_partitioned_by_accepted_at_with_the_id_kept():
    assert _one("SELECT a.attname FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid"
                " AND a.attnum = p.partattrs[0] WHERE p.partrelid = %s::regclass", [TABLE]) == ("accepted_at",)
    assert _one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
                [TABLE]) == ("PRIMARY KEY (id, accepted_at)",)
    assert _one("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE]) == (f"public.{TABLE}_id_seq",)
    assert f"{TABLE}_default" in _partitions()


def test_the_id_is_unique_across_months_and_references_are_enforced(subscribed):
    ack = Acknowledgement.objects.get(pk=subscribed.acknowledgement_id)
    assert AcknowledgementKey.objects.get(pk=ack.pk).accepted_at == ack.accepted_at
    with pytest.raises(IntegrityError, match="compliance_acknowledgementkey_pkey"), transaction.atomic():
        _one(f"INSERT INTO {TABLE} (id, user_id, product_id, disclosure_id, disclosure_version, sha256, statements,"
             " language, accepted_at, user_agent, previous_sha256) SELECT id, user_id, product_id, disclosure_id,"
             f" disclosure_version, sha256, statements, language, '2027-03-05', '', '' FROM {TABLE} WHERE id = %s"
             " RETURNING id", [ack.pk])
    for table, columns in (("earn_subscription", "acknowledgement_id, user_id, product_id"),
                           ("earn_launchcommitment", "acknowledgement_id, user_id, product_id"),
                           ("pools_pooldeposit", "acknowledgement_id")):
        assert _one("SELECT confrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE conrelid = %s::regclass AND contype = 'f' AND conkey[1] = (SELECT attnum"
                    " FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'acknowledgement_id')",
                    [table, table])[1].startswith(f"FOREIGN KEY ({columns}) REFERENCES compliance_acknowledgementkey")
    with pytest.raises(IntegrityError, match="subscription_acknowledgement_key_fk"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("UPDATE earn_subscription SET acknowledgement_id = %s WHERE id = %s",
                       [ack.pk + 1000, subscribed.pk])


def test_a_subscription_cannot_cite_another_customers_or_another_products_acknowledgement(subscribed):
    """The foreign key carries the customer and the product: only the application stood in the way before."""
    other_customer = UserFactory(country="HK")
    theirs = acknowledge(other_customer, subscribed.product)
    other_product = live_product("USDT", tiers=[(0, None, "0.02")])
    with _travel(2027, 3, 4):
        elsewhere = acknowledge(subscribed.user, other_product)
    for ack in (theirs, elsewhere):
        with pytest.raises(IntegrityError, match="subscription_acknowledgement_key_fk"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("UPDATE earn_subscription SET acknowledgement_id = %s WHERE id = %s",
                           [ack.pk, subscribed.pk])
    # Its own acknowledgement of its own product still passes.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("UPDATE earn_subscription SET acknowledgement_id = acknowledgement_id WHERE id = %s",
                       [subscribed.pk])


def test_the_key_row_says_who_acknowledged_which_disclosure(subscribed):
    """PostgreSQL fills the key row from the acknowledgement; the gate reads the latest one there, unlocked months."""
    ack = Acknowledgement.objects.get(pk=subscribed.acknowledgement_id)
    key = AcknowledgementKey.objects.get(pk=ack.pk)
    assert (key.user_id, key.product_id, key.disclosure_id, key.accepted_at) == \
        (ack.user_id, ack.product_id, ack.disclosure_id, ack.accepted_at)
    with _travel(2027, 4, 3):
        assert blocking_codes(subscribed.user, subscribed.product) == []


def test_acknowledgements_are_append_only_even_through_a_partition(subscribed):
    ack_id = subscribed.acknowledgement_id
    for sql in (f"UPDATE {TABLE} SET language = 'xx' WHERE id = %s RETURNING id",
                f"DELETE FROM {TABLE} WHERE id = %s RETURNING id",
                f"DELETE FROM {TABLE}_p2027_02 WHERE id = %s RETURNING id",
                "DELETE FROM compliance_acknowledgementkey WHERE id = %s RETURNING id"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _one(sql, [ack_id])


class TestRetention:
    def test_refused_within_the_retention_period(self, subscribed, tmp_path):
        with _travel(2030, 1, 1), pytest.raises(PartitionError, match="within the retention period"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())

    def test_refused_while_a_position_it_backs_is_open(self, subscribed, tmp_path):
        with _travel(2036, 1, 1), pytest.raises(
                PartitionError, match=rf"{TABLE}_p2027_02: 1 position\(s\) it backs are open or closed within"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert not list(tmp_path.iterdir())
        assert f"{TABLE}_p2027_02" in _partitions()

    def test_refused_while_a_position_it_backs_closed_within_the_period(self, subscribed, tmp_path):
        Position.objects.filter(pk=subscribed.position_id).update(
            status="redeemed", closed_at=dt.datetime(2029, 6, 1, tzinfo=UTC))
        with _travel(2036, 1, 1), pytest.raises(PartitionError, match="position\\(s\\) it backs are open or closed"):
            detach_before(dt.date(2027, 3, 1), tmp_path)
        assert f"{TABLE}_p2027_02" in _partitions()

    def test_exports_and_detaches_and_the_subscription_keeps_its_reference(self, subscribed, tmp_path):
        Position.objects.filter(pk=subscribed.position_id).update(
            status="redeemed", closed_at=dt.datetime(2027, 5, 1, tzinfo=UTC))
        ack_id = subscribed.acknowledgement_id
        with _travel(2036, 1, 1):
            done = {d.partition: d for d in detach_before(dt.date(2027, 3, 1), tmp_path)}
        part = f"{TABLE}_p2027_02"
        assert done[part].rows == 1
        export = (tmp_path / f"{part}.copy").read_text()
        assert export.startswith(f"{ack_id}\t")
        assert (tmp_path / f"{part}.copy.sha256").read_text().startswith(done[part].sha256)
        assert DetachedPartition.objects.get(partition=part).sha256 == done[part].sha256
        assert part not in _partitions() and _one(f"SELECT count(*) FROM {part}") == (1,)
        assert not Acknowledgement.objects.filter(pk=ack_id).exists()
        # The reference stays valid through the key table, and the id is never given again.
        assert Subscription.objects.get(pk=subscribed.pk).acknowledgement_id == ack_id
        assert AcknowledgementKey.objects.filter(pk=ack_id).exists()
        # An archived acknowledgement no longer counts: the customer acknowledges again before subscribing.
        with _travel(2036, 1, 2):
            assert blocking_codes(subscribed.user, subscribed.product) == [NO_ACK]
            assert acknowledgement_latest(user_id=subscribed.user_id, product_id=subscribed.product_id) is None
            later = acknowledge(subscribed.user, subscribed.product)
            assert later.pk > ack_id and later.previous_version is None
            assert blocking_codes(subscribed.user, subscribed.product) == []


@pytest.mark.django_db(transaction=True)
def test_conversion_back_and_forth_keeps_rows_ids_and_references(fund):
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="SG")
    fund(user, "USDT", "100")
    ack = acknowledge(user, product)
    subscription = subscription_create(user=user, product_id=product.pk, amount="100")
    Subscription.objects.filter(pk=subscription.pk).update(acknowledgement_id=ack.pk)
    columns = "id, user_id, product_id, disclosure_version, sha256, accepted_at"
    before = _one(f"SELECT array_agg(row({columns}) ORDER BY id)::text FROM {TABLE}")
    call_command("migrate", "compliance", "0012_default_category_rules", verbosity=0)
    try:
        assert _one("SELECT relkind FROM pg_class WHERE relname = %s", [TABLE]) == ("r",)
        assert _one(f"SELECT array_agg(row({columns}) ORDER BY id)::text FROM {TABLE}") == before
        old_id = _one(f"INSERT INTO {TABLE} (user_id, product_id, disclosure_id, disclosure_version, sha256,"
                      " statements, language, accepted_at, user_agent, previous_sha256) SELECT user_id, product_id,"
                      " disclosure_id, disclosure_version, sha256, statements, language, '2025-06-15', '', ''"
                      f" FROM {TABLE} LIMIT 1 RETURNING id")[0]
    finally:
        call_command("migrate", verbosity=0)
    assert _one("SELECT relkind FROM pg_class WHERE relname = %s", [TABLE]) == ("p",)
    assert f"{TABLE}_p2025_06" in _partitions()
    assert _one(f"SELECT array_agg(row({columns}) ORDER BY id)::text FROM {TABLE} WHERE id <> %s", [old_id]) == before
    assert AcknowledgementKey.objects.count() == Acknowledgement.objects.count()
    # compliance 0014 filled the keys back in: customer, product and disclosure, as on each acknowledgement.
    assert _one("SELECT count(*) FROM compliance_acknowledgementkey k JOIN compliance_acknowledgement a USING (id)"
                " WHERE (k.user_id, k.product_id, k.disclosure_id) = (a.user_id, a.product_id, a.disclosure_id)") == \
        (Acknowledgement.objects.count(),)
    assert Subscription.objects.get(pk=subscription.pk).acknowledgement_id == ack.pk < old_id
    assert _one("SELECT count(*) FROM pg_constraint WHERE conname = 'subscription_acknowledgement_key_fk'") == (1,)
    later = acknowledge(user, product)
    assert later.pk > old_id
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _one(f"DELETE FROM {TABLE}_p2025_06 RETURNING id")


def test_retention_keeps_a_month_backing_an_open_pool_position(user_factory, fund, tmp_path):
    """The pools app's guard: a pool deposit's acknowledgement stays while its position is open."""
    from pools.services.deposits import pool_deposit_create
    from tests.pools.factories import pool_product, ready_customer

    pool = pool_product()
    with _travel(2027, 2, 10):
        user = ready_customer(user_factory, fund, pool, BTC="1", USDT="60000")
        deposit = pool_deposit_create(user=user, product_id=pool.product_id, amount="1")
    assert deposit.acknowledgement_id is not None
    with _travel(2036, 1, 1), pytest.raises(
            PartitionError, match=rf"{TABLE}_p2027_02: 1 pool position\(s\) it backs are open or closed within"):
        detach_before(dt.date(2027, 3, 1), tmp_path)
    assert f"{TABLE}_p2027_02" in _partitions()


def test_retention_keeps_a_month_backing_an_unsettled_launch_commitment(fund, tmp_path):
    """Earn's guard: a launch commitment still waiting for its allocation keeps its acknowledgement's month."""
    from earn.models import LaunchCommitment

    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="SG")
    with _travel(2027, 2, 10):
        ack = acknowledge(user, product)
    commitment = LaunchCommitment.objects.create(user=user, product=product, amount=1, acknowledgement_id=ack.pk)
    assert commitment.status == "committed"
    with _travel(2036, 1, 1), pytest.raises(
            PartitionError, match=rf"{TABLE}_p2027_02: 1 launch commitment\(s\) it backs are not settled"):
        detach_before(dt.date(2027, 3, 1), tmp_path)
