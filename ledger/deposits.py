"""Staff deposits: credit a customer's available balance, under the operator's fresh one-time code,
never to a staff account, and above the four-eyes threshold only once a second operator approves.

A use case on top of `ledger.services.deposit_credit` (idempotent on the reference); it belongs
in `ledger.services` and lives here only until that module's owner takes it in.

Every function here first consumes the operator's one-time code in its own short transaction
(accounts.staff.staff_otp_consume), then does its work in one durable transaction: so a refused move
never un-counts a wrong code, and a code is used up even when the move is then refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import OPERATIONS, user_has_role
from accounts.staff import StaffAccountNotAllowed, is_staff_account, staff_otp_consume
from core.audit import audit_record
from core.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidAmount,
    MakerCheckerViolation,
    NotFound,
    PermissionDenied,
)
from core.money import DECIMAL_PLACES, MAX_DIGITS
from ledger import selectors
from ledger.models import JournalEntry, PendingDeposit, PendingDepositStatus
from ledger.services import deposit_credit
from pricing.selectors import latest_prices

# Namespace of the two-key advisory lock that serialises requests for one deposit reference.
DEPOSIT_REFERENCE_LOCK = 0x44455053  # "DEPS"


class SelfCreditNotAllowed(StaffAccountNotAllowed):
    default_code = "SELF_CREDIT_NOT_ALLOWED"


class PendingDepositDecided(Conflict):
    default_code = "PENDING_DEPOSIT_DECIDED"


@dataclass(frozen=True)
class DepositOutcome:
    """What a staff deposit request did: posted (`entry`) or is waiting for approval (`pending`)."""

    entry: JournalEntry | None
    pending: PendingDeposit | None
    created: bool


# --- Reads ---------------------------------------------------------------------------------------

def deposit_usd_value(*, asset: str, amount: Decimal) -> Decimal | None:
    """The amount at the asset's latest USD price, or None when the asset has no price (or the value is
    beyond what a money column holds: such a deposit is far above any threshold anyway)."""
    price = latest_prices([asset]).get(asset)
    if price is None:
        return None
    value = amount * price
    if abs(value) >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        return None
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


@contextmanager
def _overflow_refused() -> Iterator[None]:
    """An amount the ledger's NUMERIC(38,18) balances cannot hold is bad input (400 TOO_LARGE), not a 500."""
    try:
        yield
    except DataError as exc:
        if "numeric field overflow" not in str(exc):
            raise
        raise InvalidAmount(_("The amount is too large."), code="TOO_LARGE", field="amount") from exc


def four_eyes_needed(*, asset: str, amount: Decimal) -> tuple[bool, Decimal | None]:
    """(needed, usd value): above STAFF_DEPOSIT_FOUR_EYES_USD, or no price to tell (fail closed)."""
    value = deposit_usd_value(asset=asset, amount=amount)
    return (value is None or value > settings.STAFF_DEPOSIT_FOUR_EYES_USD), value


def pending_deposit_list(*, status: str | None = None) -> Any:
    qs = PendingDeposit.objects.select_related("user", "asset", "requested_by", "decided_by")
    return qs.filter(status=status) if status else qs


# --- Checks --------------------------------------------------------------------------------------

def _operator_check(actor: Any) -> None:
    if not user_has_role(actor, OPERATIONS):
        raise PermissionDenied(_("This action needs the operations role."))


def _recipient_check(*, actor: Any, user_id: int) -> User:
    """Lock the customer's row (FOR UPDATE: a concurrent grant of staff rights or a role waits for us) and
    refuse the operator themself and every staff account."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise NotFound(_("Unknown or inactive user."), code="UNKNOWN_USER", field="user")
    if user.pk == getattr(actor, "pk", actor):
        raise SelfCreditNotAllowed(_("Staff cannot credit their own account."), field="user")
    if is_staff_account(user):
        raise StaffAccountNotAllowed(_("Staff deposits never credit a staff account."), field="user")
    return user


def _reference_lock(reference: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [DEPOSIT_REFERENCE_LOCK, reference])


def _same_request(pending: PendingDeposit, *, user_id: int, asset: str, amount: Decimal) -> bool:
    return (pending.user_id, pending.asset_id, pending.amount.normalize()) == (user_id, asset, amount.normalize())


# --- Writes --------------------------------------------------------------------------------------

def staff_deposit_create(*, actor: Any, user_id: int, asset: str, amount: Decimal, reference: str,
                         otp: str | None) -> DepositOutcome:
    """Credit `amount` of `asset` to the customer, or (above the four-eyes threshold) ask for approval.

    Replaying a reference with the same user, asset and amount returns what the first request did
    (the entry, or the pending request) and writes nothing; the same reference for anything else
    raises IdempotencyKeyReused (409).
    """
    staff_otp_consume(user=actor, code=otp)
    _operator_check(actor)
    with _overflow_refused(), transaction.atomic(durable=True):
        # Two requests with one reference queue here, so exactly one of them sees "created".
        _reference_lock(reference)
        pending = PendingDeposit.objects.filter(reference=reference).first()
        if pending is not None:
            if not _same_request(pending, user_id=user_id, asset=asset, amount=amount):
                raise IdempotencyKeyReused(_("This reference was already used for another deposit."),
                                           field="reference")
            return DepositOutcome(entry=pending.entry, pending=pending, created=False)
        existing = selectors.deposit_get(reference=reference)
        if existing is not None:
            # deposit_credit answers the replay (or 409 for other content) and writes nothing.
            entry = deposit_credit(user_id=user_id, asset=asset, amount=amount, reference=reference)
            return DepositOutcome(entry=entry, pending=None, created=False)
        _recipient_check(actor=actor, user_id=user_id)
        needed, usd_value = four_eyes_needed(asset=asset, amount=amount)
        if needed:
            pending = PendingDeposit.objects.create(user_id=user_id, asset_id=asset, amount=amount,
                                                    reference=reference, usd_value=usd_value,
                                                    requested_by_id=actor.pk, requested_at=timezone.now())
            audit_record(actor=actor, action="ledger.deposit_request", obj=pending,
                         after={"user": user_id, "asset": asset, "amount": amount, "reference": reference,
                                "usd_value": usd_value, "threshold_usd": settings.STAFF_DEPOSIT_FOUR_EYES_USD})
            return DepositOutcome(entry=None, pending=pending, created=True)
        entry = deposit_credit(user_id=user_id, asset=asset, amount=amount, reference=reference,
                               memo=f"staff deposit by user {actor.pk}")
        audit_record(actor=actor, action="ledger.deposit_credit", obj=entry,
                     after={"user": user_id, "asset": asset, "amount": amount, "reference": reference})
    return DepositOutcome(entry=entry, pending=None, created=True)


def staff_deposit_approve(*, actor: Any, pending_id: int, otp: str | None) -> tuple[PendingDeposit, bool]:
    """A second operator approves: the deposit is posted in this transaction; returns (pending, posted).

    Approving an approved request again posts nothing and answers it as it is; the requester may not
    approve (MAKER_CHECKER; the database refuses it too); a decided request stays decided.
    """
    staff_otp_consume(user=actor, code=otp)
    _operator_check(actor)
    with _overflow_refused(), transaction.atomic(durable=True):
        pending = _pending_locked(pending_id)
        if pending.status == PendingDepositStatus.APPROVED:
            return pending, False
        _undecided_by_another(pending, actor)
        _recipient_check(actor=actor, user_id=pending.user_id)
        entry = deposit_credit(user_id=pending.user_id, asset=pending.asset_id, amount=pending.amount,
                               reference=pending.reference,
                               memo=f"staff deposit by user {pending.requested_by_id}, approved by user {actor.pk}")
        pending.status, pending.decided_by, pending.decided_at, pending.entry = (
            PendingDepositStatus.APPROVED, actor, timezone.now(), entry)
        pending.save(update_fields=["status", "decided_by", "decided_at", "entry"])
        after = {"user": pending.user_id, "asset": pending.asset_id, "amount": pending.amount,
                 "reference": pending.reference, "requested_by": pending.requested_by_id}
        audit_record(actor=actor, action="ledger.deposit_approve", obj=pending, before={"status": "pending"},
                     after={**after, "status": "approved", "entry": entry.pk})
        audit_record(actor=actor, action="ledger.deposit_credit", obj=entry, after=after)
    return pending, True


def staff_deposit_reject(*, actor: Any, pending_id: int, otp: str | None, reason: str = "") -> PendingDeposit:
    """A second operator turns the request down; nothing is credited, and the reference stays used."""
    staff_otp_consume(user=actor, code=otp)
    _operator_check(actor)
    with transaction.atomic(durable=True):
        pending = _pending_locked(pending_id)
        if pending.status == PendingDepositStatus.REJECTED:
            return pending
        _undecided_by_another(pending, actor)
        pending.status, pending.decided_by, pending.decided_at = PendingDepositStatus.REJECTED, actor, timezone.now()
        pending.save(update_fields=["status", "decided_by", "decided_at"])
        audit_record(actor=actor, action="ledger.deposit_reject", obj=pending, before={"status": "pending"},
                     after={"status": "rejected", "reason": reason.strip()[:500],
                            "requested_by": pending.requested_by_id})
    return pending


def _pending_locked(pending_id: int) -> PendingDeposit:
    """The request, its reference lock taken first (the order staff_deposit_create uses), then its row."""
    reference = PendingDeposit.objects.filter(pk=pending_id).values_list("reference", flat=True).first()
    if reference is None:
        raise NotFound(_("No such pending deposit."))
    _reference_lock(reference)
    return PendingDeposit.objects.select_for_update().select_related("asset").get(pk=pending_id)


def _undecided_by_another(pending: PendingDeposit, actor: Any) -> None:
    if pending.status != PendingDepositStatus.PENDING:
        raise PendingDepositDecided(_("This deposit request was already decided (%(status)s).")
                                    % {"status": pending.status})
    if pending.requested_by_id == actor.pk:
        raise MakerCheckerViolation(_("Four eyes: the operator who requested this deposit cannot decide it; "
                                      "another operator must."))
