"""The double-entry ledger: assets, accounts, journal entries and their postings.

Sign convention: an account's balance is credits minus debits. Customer accounts (what the
exchange owes its customers) are credit-normal and may never go below zero; platform accounts
such as `external` and `yield_expense` go negative as money flows out of them.
Only `ledger.services` writes these tables; PostgreSQL refuses UPDATE/DELETE of entries and postings,
and derives `LedgerAccount.balance` from the postings (any other write of it is refused).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField


class Asset(models.Model):
    code = models.CharField(_("code"), max_length=16, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    scale = models.PositiveSmallIntegerField(_("scale"), help_text=_("decimal places of the smallest unit"))

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(scale__lte=18), name="asset_scale_max_18"),
            models.CheckConstraint(condition=models.Q(code__regex=r"^[A-Z0-9]{2,16}$"), name="asset_code_format"),
        ]

    def __str__(self) -> str:
        return self.code


class AccountKind(models.TextChoices):
    # customer-owned
    AVAILABLE = "available", _("Available")
    EARN = "earn", _("Earn (principal)")
    ACCRUED = "accrued", _("Accrued interest")
    PENDING = "pending", _("Pending redemption")
    POOL_SHARE = "pool_share", _("Pool share")
    COMMITTED = "committed", _("Committed to a launch")
    # platform-owned
    EXTERNAL = "external", _("External (exchange wallet)")
    YIELD_EXPENSE = "yield_expense", _("Yield expense")
    PENALTY_INCOME = "penalty_income", _("Penalty income")
    FEE_INCOME = "fee_income", _("Fee income")
    REWARDS = "rewards", _("Rewards")
    POOL_RESERVE = "pool_reserve", _("Pool reserve")


USER_KINDS = frozenset({AccountKind.AVAILABLE, AccountKind.EARN, AccountKind.ACCRUED, AccountKind.PENDING,
                        AccountKind.POOL_SHARE, AccountKind.COMMITTED})
PLATFORM_KINDS = frozenset(set(AccountKind) - USER_KINDS)


class LedgerAccount(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="ledger_accounts")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="accounts")
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    balance = MoneyField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        permissions = [("post_deposit", "Can credit deposits to customers")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "asset", "kind"], nulls_distinct=False,
                                    name="ledgeraccount_owner_asset_kind_unique"),
            models.UniqueConstraint(fields=["id", "asset"], name="ledgeraccount_id_asset_unique"),
            models.CheckConstraint(condition=models.Q(owner__isnull=True) | models.Q(balance__gte=0),
                                   name="ledgeraccount_user_balance_non_negative"),
            models.CheckConstraint(
                condition=(models.Q(owner__isnull=True, kind__in=sorted(k.value for k in PLATFORM_KINDS))
                           | models.Q(owner__isnull=False, kind__in=sorted(k.value for k in USER_KINDS))),
                name="ledgeraccount_kind_matches_owner",
            ),
        ]

    def __str__(self) -> str:
        who = self.owner_id or "platform"
        return f"{who}:{self.asset_id}:{self.kind}"


class EntryKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    WITHDRAWAL = "withdrawal", _("Withdrawal")
    SUBSCRIPTION = "subscription", _("Subscription")
    REDEMPTION = "redemption", _("Redemption")
    SETTLEMENT = "settlement", _("Settlement")
    ACCRUAL = "accrual", _("Interest accrual")
    INTEREST_PAYOUT = "interest_payout", _("Interest payout")
    PENALTY = "penalty", _("Early-redemption penalty")
    POOL_DEPOSIT = "pool_deposit", _("Pool deposit")
    POOL_REDEMPTION = "pool_redemption", _("Pool redemption")
    FEE = "fee", _("Pool fee")
    REWARD = "reward", _("Reward")
    TRANSFER = "transfer", _("Transfer")
    REVERSAL = "reversal", _("Reversal")
    LAUNCH_COMMIT = "launch_commit", _("Launch commitment")
    LAUNCH_ALLOCATION = "launch_allocation", _("Launch allocation and refund")


class JournalEntry(models.Model):
    """One balanced journal entry. The table is partitioned by month of `created_at` (UTC); in the database
    the primary key is (id, created_at), and `id` alone is unique through JournalEntryKey."""

    kind = models.CharField(max_length=24, choices=EntryKind.choices)
    # Unique through JournalEntryKey (a partitioned table's unique index would have to include created_at).
    idempotency_key = models.CharField(max_length=200, db_index=True)
    fingerprint = models.CharField(max_length=64, help_text=_("sha256 of the entry's content"))
    reference = models.CharField(max_length=200, blank=True, db_index=True)
    memo = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"
        # BRIN, not B-tree: entries arrive in time order, so a block range index finds a day in a few pages,
        # costs next to nothing per insert, and never competes with the primary key (id, created_at) for the
        # ledger checks' probe of one entry in a young month that has no statistics yet (a B-tree on
        # created_at looked as cheap there and read the whole month per entry).
        indexes = [BrinIndex(fields=["created_at"], name="journalentry_created_brin")]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key}"


class JournalEntryKey(models.Model):
    """The idempotency keys of journal entries, unique across every month's partition, kept after a month is
    detached (a key is never reused). Written in the transaction that writes the entry: by
    `ledger.services` first (ON CONFLICT DO NOTHING finds a replay), else by the entries' insert trigger.
    The table also has columns this model leaves out, kept by the ledger's triggers only (entry_txid, legs,
    posted_at_once: ledger/sql/entry_key_progress.sql); a row must open with them empty."""

    idempotency_key = models.CharField(max_length=200, primary_key=True)
    entry_id = models.BigIntegerField(unique=True)
    entry_created_at = models.DateTimeField()

    class Meta:
        ordering = ["entry_id"]

    def __str__(self) -> str:
        return f"{self.idempotency_key} → {self.entry_id}"


class Side(models.TextChoices):
    DEBIT = "D", _("Debit")
    CREDIT = "C", _("Credit")


class Posting(models.Model):
    # Partitioned by month of created_at, like entries; the database checks the entry exists in the
    # posting's month (ledger/sql/partitioned_ledger.sql) instead of a foreign key.
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings", db_constraint=False)
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="postings")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=1, choices=Side.choices)
    amount = MoneyField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "created_at"], name="posting_account_time_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="posting_amount_positive"),
            models.CheckConstraint(condition=models.Q(side__in=["D", "C"]), name="posting_side_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.asset_id} → {self.account_id}"

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.side == Side.CREDIT else -self.amount


class ArchivedPostings(models.Model):
    """What a detached month of postings moved on each account (retention, `manage.py partitions`).

    Written in the transaction that detaches the month: balances still equal the archived sums plus the
    postings still attached, which is what reconcile checks."""

    partition = models.CharField(max_length=63)
    account = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(help_text=_("credits minus debits of the month's postings"))
    postings = models.PositiveBigIntegerField()
    archived_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["partition", "account"]
        verbose_name_plural = "archived postings"
        constraints = [models.UniqueConstraint(fields=["partition", "account"],
                                               name="archivedpostings_partition_account_unique")]

    def __str__(self) -> str:
        return f"{self.partition}: {self.account_id} {self.amount}"


class PendingDepositStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class PendingDeposit(models.Model):
    """A staff deposit above the four-eyes threshold: nothing is credited until a second operator approves.

    Approval posts the deposit (idempotent on `reference`, the same key a direct deposit uses) in the
    transaction that decides the row. The database holds maker ≠ checker, the decision fields, and
    refuses any change to a decided row or to what was requested (ledger/sql/pending_deposits.sql).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pending_deposits")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = MoneyField()
    reference = models.CharField(max_length=190, unique=True)
    usd_value = MoneyField(null=True, blank=True, help_text=_("the amount at the latest price when requested; "
                                                             "empty when the asset had no price"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=PendingDepositStatus.choices,
                              default=PendingDepositStatus.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The database's foreign key is to JournalEntryKey.entry_id (entries are partitioned).
    entry = models.OneToOneField(JournalEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 db_constraint=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="pendingdeposit_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="pendingdeposit_amount_positive"),
            models.CheckConstraint(condition=models.Q(status__in=["pending", "approved", "rejected"]),
                                   name="pendingdeposit_status_valid"),
            models.CheckConstraint(condition=~models.Q(decided_by=models.F("requested_by")),
                                   name="pendingdeposit_maker_is_not_checker"),
            models.CheckConstraint(condition=~models.Q(user=models.F("requested_by")),
                                   name="pendingdeposit_not_for_requester"),
            models.CheckConstraint(
                condition=(models.Q(status="pending", decided_by__isnull=True, decided_at__isnull=True,
                                    entry__isnull=True)
                           | models.Q(status="approved", decided_by__isnull=False, decided_at__isnull=False,
                                      entry__isnull=False)
                           | models.Q(status="rejected", decided_by__isnull=False, decided_at__isnull=False,
                                      entry__isnull=True)),
                name="pendingdeposit_decision_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset_id} → {self.user_id} ({self.status})"


class ReconcileRun(models.Model):
    """The outcome of one reconciliation (nightly task or command): what operations and the metrics read."""

    ran_at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField()
    accounts_checked = models.PositiveBigIntegerField(default=0)
    entries_checked = models.PositiveBigIntegerField(default=0)
    mismatches = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=list, blank=True, help_text="the first mismatches, as check and detail")

    class Meta:
        ordering = ["-ran_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=models.Q(ok=True, mismatches=0) | models.Q(ok=False, mismatches__gt=0),
            name="reconcilerun_ok_means_no_mismatch")]

    def __str__(self) -> str:
        return f"reconcile {self.ran_at:%Y-%m-%d %H:%M} ({'ok' if self.ok else f'{self.mismatches} mismatches'})"
