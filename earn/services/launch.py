"""Launch mode: customers commit amounts during a product's window; one job allocates the quota after it.

Committing (`commitment_create`) moves the amount at once, through the ledger, from the customer's
`available` account to their `committed` account and records a `LaunchCommitment`. There is no cap to
reserve, so it never locks the product row: two customers' commitments share no row at all. One statement
claims the Idempotency-Key, inserts the commitment and locks the customer's two accounts; one more posts.

Lock order of the commit path: the launch barrier *shared* (a transaction-scoped advisory lock keyed by
the product, `LAUNCH_LOCK_CLASS`, taken by the database's trigger on the commitment insert:
earn/sql/launch_barrier.sql), then the customer's ledger accounts in ascending id, then (the insert's
foreign-key checks, at the statement's end) a key-share lock on the product row, which only a writer of
the product's key would wait for. The allocation job's close step takes the same barrier *exclusive*: it
waits for every commitment in flight to commit or roll back, and a commitment arriving later is refused
by the trigger, which reads the run row after the barrier is granted, so no commitment is written after
the allocation read them.

The allocation (`launch_allocate`, the Celery task `launch_allocate_task` and `manage.py launch_allocate`)
goes in steps, each one transaction, progress in `LaunchRun`:

1. close: the barrier exclusive, then the run row (status `closed`) — at most once per product;
2. allocate: every commitment's `allocated` and `refunded`, computed by `earn.allocation` from the
   commitments alone (so any rerun computes the same), written in one set-based UPDATE; run `allocated`;
3. settle, by batches of customers: the product row, then the run row, then positions (one per customer
   allocated anything), subscriptions and position changes, then one ledger entry per customer (debit
   `committed` by what they committed, credit `earn` with the allocation and `available` with the refund;
   idempotency key `launch:<product>:user:<user>`), the product's sold amount, and the commitments marked
   `settled` — all in the batch's transaction, so a batch is done entirely or not at all;
4. done: when no commitment is left unsettled (one audit event with the totals).

A worker killed anywhere leaves the database at a step boundary; rerunning resumes from there and moves
every amount exactly once (the deterministic ledger keys would refuse a second posting anyway).
Lock order of the job: the barrier (close step only); then product row, run row, position rows, ledger
accounts by ascending id — the service-wide order (earn.lock_objects).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.gate import GateContext, blocking_codes
from core.audit import audit_record
from core.errors import Conflict, NotFound
from core.idempotency import IdempotentRequest
from core.money import parse_amount
from core.refusals import message_for
from core.rows import prepared_cursor
from earn import allocation, errors, signals
from earn.calendar import maturity_date_for, value_date_for
from earn.lock_objects import product_lock
from earn.models import (
    CommitmentStatus,
    LaunchCommitment,
    LaunchRun,
    Product,
    ProductStatus,
    TermType,
)
from earn.refusals import DEFAULT_MESSAGE
from earn.selectors.products import launch_offer, terms_in_force
from earn.services.submission import submit_recording_refusals
from ledger import services as ledger
from ledger.errors import InsufficientBalance
from ledger.models import AccountKind, EntryKind, LedgerAccount

LAUNCH_LOCK_CLASS = 0x4C4E4348  # "LNCH": pg_advisory_xact_lock(class, product id), the commit barrier
SETTLE_BATCH = 1000  # customers settled per transaction


class LaunchWindowOpen(Conflict):
    default_code = "LAUNCH_WINDOW_OPEN"


class NotALaunch(Conflict):
    default_code = errors.NOT_A_LAUNCH


def _refused(code: str) -> errors.SubscriptionRefused:
    return errors.SubscriptionRefused(message_for(code, DEFAULT_MESSAGE), codes=[code], field="amount")


# --- committing ---------------------------------------------------------------------------------------

def commitment_blockers(user: Any, product: Product, amount: Decimal, now: dt.datetime,
                        ctx: GateContext | None = None) -> list[str]:
    """Every reason that refuses this commitment now, without taking a lock (gate first, as subscriptions)."""
    codes = blocking_codes(user, product, amount=amount, ctx=ctx)
    if product.status != ProductStatus.LIVE:
        codes.append(errors.PRODUCT_NOT_LIVE)
        return codes
    start, end = product.launch_window_start, product.launch_window_end
    assert start is not None and end is not None  # a launch product has its window (a database check)
    if not (start <= now < end):
        codes.append(errors.OUTSIDE_WINDOW)
    if amount < product.launch_min_lot:
        codes.append(errors.BELOW_MIN)
    return codes


_NO_CLAIM: tuple[str, list[Any]] = ("SELECT NULL::bigint AS id", [])  # no Idempotency-Key: nothing to claim


@transaction.atomic
def commitment_create(*, user: Any, product_id: int, amount: Any) -> LaunchCommitment:
    """Commit `amount` to a launch: the money moves to the committed account now; refusals raise
    SubscriptionRefused with every reason code (and nothing is written)."""
    done = _commitment_write(user=user, product_id=product_id, amount=amount)
    assert done is not None  # without a key nothing can be answered already
    return done[0]


def _commitment_checked(*, user: Any, product: Product | None, gate: GateContext | None, amount: Any,
                        now: dt.datetime, writing: bool) -> tuple[Product, Decimal, GateContext]:
    """Every answer a commitment gives before taking a lock: no such product (404), not a launch, a bad amount
    (400), the gate's and the launch's refusals. `writing`: inside the commitment's transaction, where the gate's
    exposure rule takes its lock and reads the holdings again."""
    if product is None:
        raise NotFound(_("No such product."), field="product")
    if not product.is_launch:
        raise _refused(errors.NOT_A_LAUNCH)
    amount = parse_amount(amount, scale=product.asset.scale)
    gate = gate or GateContext.load(user, [product.pk])
    if writing:
        gate.for_update()
    codes = commitment_blockers(user, product, amount, now, gate)
    if codes:
        raise errors.SubscriptionRefused(message_for(codes[0], DEFAULT_MESSAGE), codes=codes, field="amount")
    return product, amount, gate


def _commitment_write(*, user: Any, product_id: int, amount: Any,
                      read: tuple[Product | None, GateContext | None] | None = None,
                      claim: tuple[str, list[Any]] = _NO_CLAIM) -> tuple[LaunchCommitment, int | None] | None:
    """`commitment_create` without a savepoint of its own: for callers whose transaction ends with a refusal
    (the idempotency wrapper's), which spares two statements on the hot path. `read`: the product and the gate's
    context read before the transaction (`launch_offer`). `claim`: the idempotency key's claim
    (IdempotentRequest.run_claiming), made by the same statement as the commitment; returns the commitment and
    the key's record id, or None when that claim took nothing (the key holds an answer: nothing is written)."""
    now = timezone.now()
    offered, gate = read if read is not None else launch_offer(product_id=product_id, user=user, now=now)
    product, amount, gate = _commitment_checked(user=user, product=offered, gate=gate, amount=amount, now=now,
                                                writing=True)
    asset = product.asset_id
    kinds = (AccountKind.AVAILABLE, AccountKind.COMMITTED)
    accounts_ctes, accounts_params = ledger.owner_accounts_sql(user.pk, asset, kinds, now=now,
                                                               when="EXISTS (SELECT 1 FROM commitment)")
    claim_sql, claim_params = claim
    acknowledgement = gate.latest_ack.get(product.pk)
    # One statement: the key's claim, the commitment (whose trigger takes the launch's barrier shared and refuses
    # it once the allocation closed the launch: earn/sql/launch_barrier.sql), then the customer's two accounts
    # locked in ascending id with their balances (the committed one opened at a first commitment), for the posting.
    try:
        with prepared_cursor() as cursor:
            cursor.execute(
                f"""
                WITH claim AS ({claim_sql}),
                commitment AS (
                    INSERT INTO earn_launchcommitment (user_id, product_id, amount, status, acknowledgement_id,
                                                       created_at)
                    SELECT %s, %s, %s, 'committed', %s, %s FROM claim
                    RETURNING id
                ), {accounts_ctes}
                SELECT claim.id, commitment.id, acc.id, acc.kind, acc.balance, acc.scale
                  FROM claim JOIN commitment ON TRUE LEFT JOIN owner_accounts acc ON TRUE
                """,
                [*claim_params, user.pk, product.pk, amount, acknowledgement, now, *accounts_params],
            )
            rows = cursor.fetchall()
    except DatabaseError as exc:
        if _launch_closed(exc):
            raise _refused(errors.OUTSIDE_WINDOW) from exc
        raise
    if not rows:
        return None
    record, commitment_id = rows[0][0], rows[0][1]
    commitment = LaunchCommitment(id=commitment_id, user=user, product=product, amount=amount,
                                  status=CommitmentStatus.COMMITTED, acknowledgement_id=acknowledgement,
                                  created_at=now)
    try:
        ledger.owner_transfer(kind=EntryKind.LAUNCH_COMMIT, idempotency_key=f"launch-commit:{commitment.pk}",
                              owner_id=user.pk, asset=asset, debit_kind=AccountKind.AVAILABLE,
                              credit_kind=AccountKind.COMMITTED, amount=amount, reference=f"launch:{product.pk}",
                              locked_rows=[row[2:] for row in rows if row[2] is not None])
    except InsufficientBalance as exc:
        raise _refused(errors.INSUFFICIENT_BALANCE) from exc
    return commitment, record


def _launch_closed(exc: DatabaseError) -> bool:
    """Whether the database refused a commitment because the allocation closed its launch (the barrier trigger)."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) == "launch_closed"


def commitment_submit(*, user: Any, product_id: int, amount: Any, idempotency_key: str | None,
                      render: Callable[[LaunchCommitment], Any]) -> tuple[int, Any, bool]:
    """The entry point for API and portal: idempotent on the key; refusals are recorded like subscriptions' — the
    product and the gate's facts read by one statement first, a refusal they decide recorded by one more that
    claims the key (earn.services.submission), else the commitment in the key's transaction, whose first
    statement claims the key too."""
    now = timezone.now()
    read = launch_offer(product_id=product_id, user=user, now=now)
    payload = {"product": product_id, "amount": str(amount)}

    def commit(claim: tuple[str, list[Any]]) -> tuple[int, Any, int] | None:
        done = _commitment_write(user=user, product_id=product_id, amount=amount, read=read, claim=claim)
        if done is None:
            return None
        commitment, record = done
        assert record is not None  # the claim's row
        return 201, render(commitment), record

    return submit_recording_refusals(
        user=user, product_id=product_id, amount=amount,
        request=IdempotentRequest.of(user=user, key=idempotency_key, scope="commitments", payload=payload),
        check=lambda: _commitment_checked(user=user, product=read[0], gate=read[1], amount=amount, now=now,
                                          writing=False),
        claiming=commit)


# --- allocating ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    step: str
    run: LaunchRun
    settled: int = 0  # customers settled by this step


def launch_close(product_id: int) -> LaunchRun:
    """Step 1: stop commitments (waits for those in flight). Refused while the window is open."""
    with transaction.atomic():
        product = Product.objects.select_related("asset").filter(pk=product_id).first()
        if product is None:
            raise NotFound(_("No such product."), field="product")
        if not product.is_launch:
            raise NotALaunch(_("This product is not a launch."))
        run = LaunchRun.objects.filter(product_id=product_id).first()
        if run is not None:
            return run
        if product.launch_window_end is None or timezone.now() < product.launch_window_end:
            raise LaunchWindowOpen(_("The launch window is still open."))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LAUNCH_LOCK_CLASS, product.pk])
        run = LaunchRun.objects.filter(product_id=product_id).first()  # a concurrent closer won
        if run is not None:
            return run
        quota = product.launch_quota
        if product.total_cap is not None:
            quota = max(min(quota, product.total_cap - product.sold_amount), Decimal(0))
        return LaunchRun.objects.create(product=product, method=product.launch_method, quota=quota)


def launch_plan(product_id: int) -> LaunchRun:
    """Step 2: every commitment's allocation and refund, in one transaction (no money moves yet)."""
    with transaction.atomic():
        run = LaunchRun.objects.select_for_update().select_related("product__asset").get(product_id=product_id)
        if run.status != LaunchRun.Status.CLOSED:
            return run
        product = run.product
        scale = product.asset.scale
        rows = list(LaunchCommitment.objects.filter(product_id=product_id).order_by("id")
                    .values_list("id", "user_id", "amount"))
        units = {cid: allocation.to_units(amount, scale) for cid, _user, amount in rows}
        given = allocation.allocate(
            [allocation.Commitment(cid, user_id, units[cid]) for cid, user_id, _amount in rows],
            method=run.method, quota=allocation.to_units(run.quota, scale),
            min_lot=allocation.to_units(product.launch_min_lot, scale),
            user_cap=None if product.launch_user_cap is None else allocation.to_units(product.launch_user_cap, scale))
        ids = [cid for cid, _user, _amount in rows]
        allocated = [allocation.from_units(given[cid], scale) for cid in ids]
        refunded = [allocation.from_units(units[cid] - given[cid], scale) for cid in ids]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE earn_launchcommitment c SET status = 'allocated', allocated = t.a, refunded = t.r
                  FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS t(id, a, r)
                 WHERE c.id = t.id AND c.status = 'committed'
                """,
                [ids, allocated, refunded],
            )
        run.status = LaunchRun.Status.ALLOCATED
        run.commitments = len(rows)
        run.customers = len({user_id for _cid, user_id, _amount in rows})
        run.committed_total = sum((amount for _cid, _user, amount in rows), Decimal(0))
        run.allocated_total = sum(allocated, Decimal(0))
        run.refunded_total = sum(refunded, Decimal(0))
        run.allocated_at = timezone.now()
        run.save()
        return run


def launch_settle_batch(product_id: int, *, batch: int = SETTLE_BATCH) -> int:
    """Step 3, one batch: settle up to `batch` customers (ascending id) in one transaction; returns how many."""
    with transaction.atomic():
        product = product_lock(product_id)
        run = LaunchRun.objects.select_for_update().get(product_id=product_id)
        if run.status != LaunchRun.Status.ALLOCATED:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT user_id, sum(amount), sum(allocated), sum(refunded) FROM earn_launchcommitment
                 WHERE product_id = %s AND status = 'allocated'
                 GROUP BY user_id ORDER BY user_id LIMIT %s
                """,
                [product_id, batch],
            )
            customers = cursor.fetchall()
        if not customers:
            _finish(run)
            return 0
        asset = product.asset_id
        when = run.allocated_at or timezone.now()
        value_date = value_date_for(when)
        terms = terms_in_force(product, when.date()) or terms_in_force(product, value_date)
        if terms is None:
            raise Conflict(_("The product has no terms in force: no position can be opened."),
                           code="NO_TERMS_IN_FORCE")
        maturity = maturity_date_for(value_date, terms.term_days) if product.term_type == TermType.FIXED else None
        winners = [(user_id, allocated) for user_id, _c, allocated, _r in customers if allocated > 0]
        positions = _positions_open(product, terms.pk, winners, value_date, maturity, when)
        accounts = _accounts_of([c[0] for c in customers], asset)
        specs = []
        for user_id, committed, allocated, refunded in customers:
            legs = [ledger.Leg.debit(accounts[(user_id, asset, AccountKind.COMMITTED)], committed)]
            if allocated > 0:
                legs.append(ledger.Leg.credit(accounts[(user_id, asset, AccountKind.EARN)], allocated))
            if refunded > 0:
                legs.append(ledger.Leg.credit(accounts[(user_id, asset, AccountKind.AVAILABLE)], refunded))
            reference = f"position:{positions[user_id]}" if user_id in positions else f"launch:{product_id}"
            specs.append(ledger.EntrySpec(EntryKind.LAUNCH_ALLOCATION, f"launch:{product_id}:user:{user_id}",
                                          tuple(legs), reference))
        ledger.entries_post(specs)
        users = [c[0] for c in customers]
        batch_allocated = sum((allocated for _u, allocated in winners), Decimal(0))
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE earn_launchcommitment c SET status = 'settled', settled_at = %s, position_id = t.p
                  FROM unnest(%s::bigint[], %s::bigint[]) AS t(u, p)
                 WHERE c.product_id = %s AND c.user_id = t.u AND c.status = 'allocated'
                """,
                [timezone.now(), users, [positions.get(u) for u in users], product_id],
            )
            if batch_allocated:
                cursor.execute("UPDATE earn_product SET sold_amount = sold_amount + %s WHERE id = %s",
                               [batch_allocated, product_id])
        LaunchRun.objects.filter(pk=run.pk).update(customers_settled=run.customers_settled + len(customers))
        signals.launch_settled.send(sender=LaunchRun, product_id=product_id, user_ids=users)
        return len(customers)


def _accounts_of(users: list[int], asset: str) -> dict[tuple[int, str, str], LedgerAccount]:
    """The customers' committed, earn and available accounts of `asset` in one query; the missing ones (an
    earn account of a first position) are made through `ledger.accounts_ensure`."""
    kinds = (AccountKind.COMMITTED, AccountKind.EARN, AccountKind.AVAILABLE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, owner_id, kind FROM ledger_ledgeraccount"
                       " WHERE owner_id = ANY(%s) AND asset_id = %s AND kind = ANY(%s)",
                       [users, asset, [str(k) for k in kinds]])
        found = {(owner, asset, kind): LedgerAccount(id=pk, owner_id=owner, asset_id=asset, kind=kind)
                 for pk, owner, kind in cursor.fetchall()}
    missing = [(u, asset, str(k)) for u in users for k in kinds if (u, asset, str(k)) not in found]
    if missing:  # a first position's earn account (a commitment opens only the committed one): one statement
        found.update(ledger.accounts_ensure(missing))
    return found


def _positions_open(product: Product, terms_id: int, winners: list[tuple[int, Decimal]], value_date: dt.date,
                    maturity: dt.date | None, now: dt.datetime) -> dict[int, int]:
    """One position per customer allocated anything (a demand one grows if held), with its subscription
    and position change; returns {user id: position id}. Set-based: a few statements per batch."""
    if not winners:
        return {}
    users = [u for u, _a in winners]
    amounts = [a for _u, a in winners]
    demand = product.term_type == TermType.DEMAND
    conflict = ("ON CONFLICT (user_id, product_id) WHERE term_type = 'demand' DO UPDATE "
                "SET principal = earn_position.principal + EXCLUDED.principal, status = 'active', closed_at = NULL"
                if demand else "")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO earn_position (user_id, product_id, terms_id, asset_id, term_type, status, principal,
                                       value_date, maturity_date, auto_renew, auto_compound, created_at)
            SELECT t.u, %s, %s, %s, %s, 'active', t.a, %s, %s, false, false, %s
              FROM unnest(%s::bigint[], %s::numeric[]) AS t(u, a)
             ORDER BY t.u
            {conflict}
            RETURNING id, user_id
            """,
            [product.pk, terms_id, product.asset_id, product.term_type, value_date, maturity, now, users, amounts],
        )
        positions = {user_id: position_id for position_id, user_id in cursor.fetchall()}
        cursor.execute(
            """
            INSERT INTO earn_subscription (user_id, product_id, position_id, terms_id, amount, value_date,
                                           maturity_date, acknowledgement_id, created_at)
            SELECT t.u, %s, t.p, %s, t.a, %s, %s, ack.id, %s
              FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS t(u, p, a)
              LEFT JOIN LATERAL (SELECT c.acknowledgement_id AS id FROM earn_launchcommitment c
                                  WHERE c.user_id = t.u AND c.product_id = %s AND c.acknowledgement_id IS NOT NULL
                                  ORDER BY c.id DESC LIMIT 1) ack ON true
            """,
            [product.pk, terms_id, value_date, maturity, now, users, [positions[u] for u in users], amounts,
             product.pk],
        )
        cursor.execute(
            """
            INSERT INTO earn_positionchange (position_id, effective_date, amount, reason, created_at)
            SELECT t.p, %s, t.a, 'subscription', %s FROM unnest(%s::bigint[], %s::numeric[]) AS t(p, a)
            """,
            [value_date, now, [positions[u] for u in users], amounts],
        )
    return positions


def _finish(run: LaunchRun) -> None:
    now = timezone.now()
    LaunchRun.objects.filter(pk=run.pk).update(status=LaunchRun.Status.DONE, finished_at=now)
    run.status, run.finished_at = LaunchRun.Status.DONE, now
    audit_record(actor=None, action="launch.allocate", obj=run,
                 after={"product": run.product_id, "method": run.method, "quota": run.quota,
                        "commitments": run.commitments, "customers": run.customers,
                        "committed": run.committed_total, "allocated": run.allocated_total,
                        "refunded": run.refunded_total})


def launch_allocate(product_id: int, *, batch: int = SETTLE_BATCH,
                    progress: Callable[[Progress], None] | None = None) -> LaunchRun:
    """Every step from where the run stands to `done`; safe to call again at any time (idempotent)."""
    report = progress or (lambda _p: None)
    run = launch_close(product_id)
    report(Progress("closed", run))
    run = launch_plan(product_id)
    report(Progress("allocated", run))
    while True:
        settled = launch_settle_batch(product_id, batch=batch)
        run = LaunchRun.objects.get(product_id=product_id)
        if settled == 0:
            break
        report(Progress("settling", run, settled))
    report(Progress("done", run))
    return run


def launches_due(now: dt.datetime | None = None) -> list[int]:
    """Launch products whose window has closed and whose allocation is not done."""
    now = now or timezone.now()
    return list(Product.objects.exclude(launch_method="").filter(launch_window_end__lte=now)
                .exclude(launch_run__status=LaunchRun.Status.DONE).order_by("id").values_list("id", flat=True))
