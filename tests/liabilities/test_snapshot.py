"""Proof of liabilities against the ledger: sums to the unit, every customer's proof verifies offline (and a
tampered one does not), snapshots are immutable and built once, the API gives each customer only their own."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from rest_framework.test import APIClient

from core.models import AuditEvent
from earn.models import Accrual
from earn.services.subscriptions import subscription_create
from ledger.models import Posting, Side
from liabilities import merkle
from liabilities.models import LiabilityLeaf, LiabilityNode, LiabilityRun, LiabilitySnapshot
from liabilities.services import NotReady, liabilities_build, salt_key
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import UserFactory
from tests.liabilities.helpers import DAY, KINDS, D, at, build

VERIFY = Path(__file__).resolve().parents[2] / "bin" / "earn_verify.py"
pytestmark = pytest.mark.django_db


def proof_json(user, day=DAY):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/liabilities/proof?date={day.isoformat()}")
    assert response.status_code == 200, response.content
    return response.json()


def verify(tmp_path, proof, *options, name="proof.json"):
    """As a customer would: a separate interpreter, isolated, without site-packages."""
    path = tmp_path / name
    path.write_text(json.dumps(proof), encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", "-S", str(VERIFY), "inclusion", str(path), *options],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


def test_totals_equal_the_ledger_to_the_unit(book):
    run, outcomes = build()
    assert run.status == LiabilityRun.Status.DONE and run.assets_done == 2
    snapshots = {s.asset_id: s for s in LiabilitySnapshot.objects.filter(date=DAY)}
    assert set(snapshots) == {"BTC", "USDT"}
    expected = book["expected"]
    for asset, snapshot in snapshots.items():
        total = sum((v for (_u, a), v in expected.items() if a == asset), D(0))
        assert snapshot.total == total and snapshot.total_units == total.scaleb(snapshot.scale)
        assert snapshot.leaves == sum(1 for (_u, a) in expected if a == asset)
        assert snapshot.cutoff == dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    assert snapshots["BTC"].total == D("0.50000001")  # the late customer's bitcoin came after the day
    # The same figure straight from the postings, summed from zero: the day's own interest counts.
    by_postings = Posting.objects.filter(account__owner__isnull=False, account__kind__in=KINDS, asset_id="USDT").filter(
        Q(created_at__lt=dt.datetime(2026, 3, 4, tzinfo=dt.UTC)) | Q(entry__kind="accrual",
                                                                     entry__reference__lte="accrual:2026-03-03"))
    credit = by_postings.filter(side=Side.CREDIT).aggregate(s=Sum("amount"))["s"]
    debit = by_postings.filter(side=Side.DEBIT).aggregate(s=Sum("amount"))["s"] or 0
    assert snapshots["USDT"].total == credit - debit
    assert Accrual.objects.filter(date=DAY).exists()
    # Every leaf: its balance by account adds up, its salt is the customer's HMAC, its hash the rule's.
    key = salt_key()
    for leaf in LiabilityLeaf.objects.select_related("snapshot"):
        snapshot = leaf.snapshot
        balance = sum((getattr(leaf, k) for k in KINDS), D(0))
        assert expected[(leaf.user_id, snapshot.asset_id)] == balance == leaf.units.scaleb(-snapshot.scale)
        assert bytes(leaf.salt) == hmac.new(key, f"{DAY}|{leaf.user_id}".encode(), hashlib.sha256).digest()
        assert bytes(leaf.hash) == merkle.leaf_hash(bytes(leaf.salt), merkle.leaf_id(leaf.user_id),
                                                    snapshot.asset_id, int(leaf.units))
    # Leaves are in hash order, and the stored top is the root.
    usdt = snapshots["USDT"]
    hashes = [bytes(h) for h in LiabilityLeaf.objects.filter(snapshot=usdt).order_by("idx").values_list("hash",
                                                                                                          flat=True)]
    assert hashes == sorted(hashes)
    top = LiabilityNode.objects.filter(snapshot=usdt).order_by("-level").first()
    assert bytes(top.hash).hex() == usdt.root and top.units == usdt.total_units
    event = AuditEvent.objects.get(action="liabilities.snapshot", object_id=str(usdt.pk))
    assert event.after["root"] == usdt.root and event.after["leaves"] == usdt.leaves
    assert [o.created for o in outcomes] == [True, True]


def test_an_earlier_day_counts_its_own_interest_only(book):
    """The 2nd's snapshot, built later, leaves out the 3rd's interest and everything posted since."""
    build(DAY - dt.timedelta(days=1))
    third = Accrual.objects.filter(date=DAY).aggregate(s=Sum("posted"))["s"]
    usdt = LiabilitySnapshot.objects.get(date=DAY - dt.timedelta(days=1), asset="USDT")
    expected = sum((v for (_u, a), v in book["expected"].items() if a == "USDT"), D(0)) - third
    assert third > 0 and usdt.total == expected


def test_every_customers_proof_verifies_offline(book, tmp_path):
    build()
    roots = {s.asset_id: s.root for s in LiabilitySnapshot.objects.filter(date=DAY)}
    customers = [book["saver"], *book["others"]]
    for user in customers:
        proof = proof_json(user)
        assert proof["leaf_id"] == f"customer-{user.pk}" and proof["date"] == "2026-03-03"
        assert {a["asset"] for a in proof["assets"]} == {a for (u, a) in book["expected"] if u == user.pk}
        for item in proof["assets"]:
            assert D(item["leaf"]["balance"]) == book["expected"][(user.pk, item["asset"])]
            leaf = (bytes.fromhex(item["leaf"]["hash"]), int(item["leaf"]["units"]))
            climbed = merkle.climb(leaf, item["path"])
            assert climbed.hash.hex() == item["root"] == roots[item["asset"]]
    saver = proof_json(book["saver"])
    usdt = next(a for a in saver["assets"] if a["asset"] == "USDT")
    assert set(usdt["leaf"]["by_kind"]) == set(KINDS) and D(usdt["leaf"]["by_kind"]["earn"]) == 600
    code, out, err = verify(tmp_path, saver, "--root", f"USDT={roots['USDT']}", "--root", f"BTC={roots['BTC']}",
                            "--total", f"USDT={usdt['total']}")
    assert (code, err) == (0, ""), out
    assert out.strip().endswith("included") and "MISMATCH" not in out
    assert proof_json(book["late"])["assets"] == []  # owed nothing at the end of the day


def test_the_verifier_catches_tampering(book, tmp_path):
    build()
    proof = proof_json(book["saver"])
    usdt_index = next(i for i, a in enumerate(proof["assets"]) if a["asset"] == "USDT")
    root = proof["assets"][usdt_index]["root"]

    def tampered(change):
        copy_ = copy.deepcopy(proof)
        change(copy_["assets"][usdt_index])
        return verify(tmp_path, copy_, "--root", f"USDT={root}")

    def bump_units(item):
        item["leaf"]["units"] = str(int(item["leaf"]["units"]) - 1)
        item["leaf"]["balance"] = format(D(item["leaf"]["units"]).scaleb(-item["scale"]), "f")
        item["leaf"]["by_kind"]["available"] = format(D(item["leaf"]["by_kind"]["available"]) - D("0.00000001"), "f")

    code, out, _ = tampered(bump_units)  # a smaller balance than committed
    assert code == 1 and "MISMATCH USDT leaf hash" in out and "MISMATCH USDT root" in out

    def shift_sum(item):  # move one unit from a sibling's sum: totals no longer add up
        item["path"][0]["sum"] = str(int(item["path"][0]["sum"]) + 1)

    code, out, _ = tampered(shift_sum)
    assert code == 1 and "root: the path reaches" in out

    def negative(item):
        item["path"][0]["sum"] = "-5"

    code, _out, err = tampered(negative)
    assert code == 2 and "non-negative integer" in err

    def kinds(item):
        item["leaf"]["by_kind"]["earn"] = "0"

    code, out, _ = tampered(kinds)
    assert code == 1 and "balance by account: adds up to" in out

    code, out, _ = verify(tmp_path, proof, "--root", "USDT=" + "0" * 64)  # not the published root
    assert code == 1 and "the published root is 0000" in out
    code, out, _ = verify(tmp_path, proof, "--total", "USDT=1")
    assert code == 1 and "the published total is 1" in out
    code, _out, err = verify(tmp_path, {"format": "earn-accrual-proof/1"})
    assert code == 2 and "not a liabilities proof" in err


def test_the_verifier_answers_a_hostile_proof_with_exit_2_never_a_traceback(tmp_path):
    """A crafted file is "cannot check" (exit 2): deep nesting (RecursionError), sibling sums past 32 bytes
    (OverflowError) and balances past the decimal context (decimal.Overflow) each ended in a traceback."""
    leaf = {"salt": "ab", "units": "1", "balance": "1", "by_kind": {"available": "1"}}
    item = {"asset": "BTC", "scale": 0, "leaf": leaf, "root": "0" * 64,
            "path": [{"side": "L", "hash": "0" * 64, "sum": str(2 ** 256 - 1)}, {"side": "L", "hash": "0" * 64,
                                                                              "sum": "1"}]}
    proof = {"format": "earn-liability-proof/1", "leaf_id": "x", "assets": [item]}
    huge = copy.deepcopy(proof)
    huge["assets"][0].update(path=[], leaf={**leaf, "balance": "1e999999999",
                                            "by_kind": {"available": "1e999999999", "earn": "1e999999999"}})
    cases = [("[" * 100_000 + "]" * 100_000, ()), (json.dumps(proof), ()), (json.dumps(huge), ()),
             (json.dumps({**proof, "assets": [{**item, "path": []}]}), ("--total", "BTC=1e999999999"))]
    for n, (text, options) in enumerate(cases):
        path = tmp_path / f"hostile-{n}.json"
        path.write_text(text, encoding="utf-8")
        for command in (["inclusion", str(path), *options], [str(path)]):  # the accruals check reads it too
            done = subprocess.run([sys.executable, "-I", "-S", str(VERIFY), *command], capture_output=True,
                                  text=True, timeout=60, check=False)
            assert "Traceback" not in done.stderr, (n, command[0], done.stderr[-300:])
            assert done.returncode in (1, 2), (n, command[0], done.returncode)


def test_the_accrual_subcommand_is_unchanged(tmp_path):
    """The accruals proof is still the default subcommand (the existing usage keeps working)."""
    (tmp_path / "x.json").write_text('{"results": []}')
    done = subprocess.run([sys.executable, "-I", "-S", str(VERIFY), str(tmp_path / "x.json")], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "not an accrual proof" in done.stderr


def test_snapshots_are_immutable(book):
    build()
    for table in ("liabilities_liabilitysnapshot", "liabilities_liabilityleaf", "liabilities_liabilitynode"):
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}", f"DELETE FROM {table} WHERE false"):
            with pytest.raises(IntegrityError, match="immutable"), transaction.atomic(), connection.cursor() as c:
                c.execute(statement)
    assert LiabilityLeaf.objects.count() == 9


def test_a_day_is_built_once_and_the_command_prints_its_roots(book, capsys):
    _run, first = build()
    roots = {o.snapshot.asset_id: o.snapshot.root for o in first}
    with at(2026, 3, 4, 5):
        call_command("liabilities_snapshot", "--date", "2026-03-03")
    out = capsys.readouterr().out
    assert "2026-03-03 USDT: already built, 7 leaves" in out and roots["USDT"] in out and "0 built now" in out
    _run, again = build(when=(2026, 3, 5, 1))
    assert [o.created for o in again] == [False, False]
    assert {o.snapshot.asset_id: o.snapshot.root for o in again} == roots
    assert LiabilitySnapshot.objects.count() == 2 and AuditEvent.objects.filter(
        action="liabilities.snapshot").count() == 2


def test_not_before_the_day_ends_nor_before_its_accrual(assets, fund):
    product = live_product("USDT", tiers=[(0, None, "0.05")])
    user = UserFactory(country="HK")
    with at(2026, 3, 1, 9):
        fund(user, "USDT", "100")
        acknowledge(user, product)
        subscription_create(user=user, product_id=product.pk, amount="50")
    with pytest.raises(NotReady, match="has not ended"), at(2026, 3, 3, 23, 59):
        liabilities_build(DAY)
    with pytest.raises(NotReady, match="accrual"), at(2026, 3, 4, 1):
        liabilities_build(DAY)
    with pytest.raises(CommandError, match="accrual"), at(2026, 3, 4, 1):
        call_command("liabilities_snapshot", "--date", "2026-03-03")
    for before in ("0001-01-01", "2026-02-28"):  # a mistyped year would be an empty snapshot on record for good
        with pytest.raises(CommandError, match=r"before the ledger's first entry \(its first is of 2026-03-01\)"), \
                at(2026, 3, 4, 1):
            call_command("liabilities_snapshot", "--date", before)
    for bad in ("03/03/2026", "2026-W10-2", "0000-00-00", "2026-03-03\x00"):  # a week date was read as a day
        with pytest.raises(CommandError, match="YYYY-MM-DD"):
            call_command("liabilities_snapshot", "--date", bad)
    assert not LiabilitySnapshot.objects.exists()
    assert not LiabilityRun.objects.exists()


def test_roots_are_public_and_dates_are_validated(book, django_assert_max_num_queries):
    client = APIClient()
    assert client.get("/api/v1/liabilities/roots").status_code == 404  # nothing published yet
    build()
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/liabilities/roots")
    body = response.json()
    assert response.status_code == 200 and body["date"] == "2026-03-03" and body["dates"] == ["2026-03-03"]
    usdt = next(a for a in body["assets"] if a["asset"] == "USDT")
    snapshot = LiabilitySnapshot.objects.get(date=DAY, asset="USDT")
    assert (usdt["root"], D(usdt["total"]), usdt["leaves"]) == (snapshot.root, snapshot.total, 7)
    assert "user" not in json.dumps(body) and "salt" not in json.dumps(body)
    assert client.get("/api/v1/liabilities/roots?date=2026-03-03").json() == body
    for hostile in ("x", "2026-13-01", "2026-02-30", "0000-00-00", "2026-03-03T00:00", "' OR 1=1", "9" * 5000,
                    "２０２６-03-03", "2026-W10-2", "2026-03-3 ", "+2026-03-3"):
        response = client.get("/api/v1/liabilities/roots", {"date": hostile})
        assert response.status_code == 400, hostile
        assert response["Content-Type"] == "application/json" and response.json()["field"] == "date"
    for day in ("2026-03-01", "9999-12-31", "0001-01-01"):
        missing = client.get(f"/api/v1/liabilities/roots?date={day}")
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND", day


def test_a_customer_gets_only_their_own_proof(book, django_assert_max_num_queries):
    build()
    anonymous = APIClient().get("/api/v1/liabilities/proof?date=2026-03-03")
    assert anonymous.status_code in (401, 403) and anonymous["Content-Type"] == "application/json"
    saver = book["saver"]
    client = APIClient()
    client.force_authenticate(saver)
    with django_assert_max_num_queries(12):
        body = client.get("/api/v1/liabilities/proof").json()  # the latest day by default
    assert body["leaf_id"] == f"customer-{saver.pk}"
    mine = {bytes(h).hex() for h in LiabilityLeaf.objects.filter(user=saver).values_list("hash", flat=True)}
    assert {a["leaf"]["hash"] for a in body["assets"]} == mine
    text = json.dumps(body)
    for other in book["others"]:
        assert f"customer-{other.pk}\"" not in text
        for salt in LiabilityLeaf.objects.filter(user=other).values_list("salt", flat=True):
            assert bytes(salt).hex() not in text
    assert client.get("/api/v1/liabilities/proof?date=2026-03-01").status_code == 404
    bad = client.get("/api/v1/liabilities/proof?date=yesterday")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID"


def test_the_daily_task_on_a_ledger_with_no_entry_yet_writes_nothing_and_does_not_retry(assets):
    from liabilities.tasks import liabilities_snapshot_task

    with at(2026, 3, 4, 2):
        result = liabilities_snapshot_task.apply()
    assert result.successful() and result.get() == {"date": "2026-03-03", "status": "nothing owed", "roots": {}}
    assert not LiabilityRun.objects.exists()


def test_the_daily_task_builds_yesterday_after_the_accrual(book, settings):
    from liabilities.tasks import liabilities_snapshot_task

    assert settings.CELERY_BEAT_SCHEDULE["liabilities-daily"]["task"] == "liabilities.tasks.liabilities_snapshot_task"
    with at(2026, 3, 4, 2):
        result = liabilities_snapshot_task.apply().get()
    assert result["date"] == "2026-03-03" and set(result["roots"]) == {"BTC", "USDT"}
    with at(2026, 3, 4, 3):
        assert liabilities_snapshot_task.apply().get()["roots"] == result["roots"]  # idempotent


@pytest.mark.django_db(transaction=True)
def test_built_outside_a_wrapping_transaction(assets, fund):
    """Each asset commits on its own (with its run's progress); the streamed read works on a real commit."""
    users = [UserFactory(country="HK") for _ in range(3)]
    with at(2026, 3, 1, 9):
        for i, user in enumerate(users):
            fund(user, "USDT", str(i + 1))
    with at(2026, 3, 2, 1):
        call_command("liabilities_snapshot", "--date", "2026-03-01")
    snapshot = LiabilitySnapshot.objects.get(date=dt.date(2026, 3, 1), asset="USDT")
    assert snapshot.total == 6 and snapshot.leaves == 3
    run = LiabilityRun.objects.get(date=dt.date(2026, 3, 1))
    assert (run.status, run.assets_done, run.leaves) == (LiabilityRun.Status.DONE, 1, 3)


@pytest.mark.django_db(transaction=True)
def test_two_builders_at_once_write_each_snapshot_once(assets, fund):
    """Two workers building the same day queue on the run row: one writes each asset, the other finds it."""
    import threading

    from django.db import connections

    users = [UserFactory(country="HK") for _ in range(4)]
    with at(2026, 3, 1, 9):
        for i, user in enumerate(users):
            fund(user, "USDT", str(i + 1))
            fund(user, "BTC", "0.001")
    start = threading.Barrier(2)
    results: list = []

    def work() -> None:
        try:
            start.wait()
            with at(2026, 3, 2, 1):
                results.append(liabilities_build(dt.date(2026, 3, 1))[1])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert sorted(o.created for outcomes in results for o in outcomes) == [False, False, True, True]
    assert LiabilitySnapshot.objects.filter(date=dt.date(2026, 3, 1)).count() == 2
    assert AuditEvent.objects.filter(action="liabilities.snapshot").count() == 2
    roots = [{o.snapshot.asset_id: o.snapshot.root for o in outcomes} for outcomes in results]
    assert roots[0] == roots[1]


def test_the_salt_key_stays_out_of_the_long_statement(book):
    """A slow-statement log prints the bound parameters: the key's pads go in a statement of their own."""
    from django.test.utils import CaptureQueriesContext

    from liabilities.services import hmac_pads

    ipad, _opad = hmac_pads(salt_key())
    with CaptureQueriesContext(connection) as queries:
        build()
    carrying = [q["sql"] for q in queries.captured_queries if ipad.hex() in q["sql"]]
    assert carrying and all(sql.startswith("SELECT set_config(") for sql in carrying)
    assert any("CREATE TEMP TABLE _liab_leaves" in q["sql"] for q in queries.captured_queries)


def test_amounts_committed_to_a_launch_are_owed_and_proven(book, tmp_path):
    """Money committed to a launch whose allocation has not run is the customer's: it is in their leaf (as
    `committed`), in the asset's total, and the proof still verifies offline."""
    from earn.services.launch import commitment_create
    from tests.earn.factories import launch_product

    saver = book["saver"]
    with at(2026, 3, 2, 9):
        launch = launch_product("USDT", quota="100", hours=72)
        acknowledge(saver, launch)
        commitment_create(user=saver, product_id=launch.pk, amount="150")
    run, _outcomes = build()
    leaf = LiabilityLeaf.objects.get(snapshot__date=DAY, snapshot__asset_id="USDT", user=saver)
    assert leaf.committed == D("150")
    assert sum((getattr(leaf, k) for k in KINDS), D(0)) == leaf.units.scaleb(-8)
    usdt = LiabilitySnapshot.objects.get(date=DAY, asset_id="USDT")
    before = sum((v for (_u, a), v in book["expected"].items() if a == "USDT"), D(0))
    assert usdt.total == before  # committing moved money between the customer's own accounts
    client = APIClient()
    client.force_authenticate(saver)
    proof = client.get(f"/api/v1/liabilities/proof?date={DAY}").json()
    usdt_proof = next(a for a in proof["assets"] if a["asset"] == "USDT")
    assert usdt_proof["leaf"]["by_kind"]["committed"] == "150.00000000"
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    verifier = Path(__file__).resolve().parents[2] / "bin" / "earn_verify.py"
    done = subprocess.run([sys.executable, "-I", str(verifier), "inclusion", str(path), "--root",
                           f"USDT={usdt.root}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
