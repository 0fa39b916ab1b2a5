"""Shared model base, idempotency records and the audit trail."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """created_at from business time (timezone.now), so tests can move the clock."""

    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        abstract = True


class IdempotencyRecord(models.Model):
    """The first answer to a money-moving request, replayed for the same key and body. Without a response
    (`response_status` NULL, committed) the key is released: its last request was refused before any
    transaction, and the next request with the key runs afresh (core.idempotency)."""

    # No index of its own: the unique (user, key) index serves lookups by user (one index less per claim).
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencyrecord_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class DetachedPartition(models.Model):
    """A month partition exported and detached for retention (core.partitions.detach_before): where its
    export went and its SHA-256. The detached table stays in the database until an operator drops it."""

    parent = models.CharField(max_length=63)
    partition = models.CharField(max_length=63, unique=True)
    month = models.DateField(help_text="first day of the month the partition held")
    rows = models.PositiveBigIntegerField()
    export_path = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64)
    detached_at = models.DateTimeField(default=timezone.now)
    # Audit event months: the last chain position the month held and its hash, the anchor the live chain
    # is verified from (core.audit_verify); empty for other tables.
    anchor_position = models.BigIntegerField(null=True, blank=True)
    anchor_hash = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["parent", "month"]

    def __str__(self) -> str:
        return f"{self.partition} ({self.rows} rows, detached {self.detached_at:%Y-%m-%d})"


class AuditEvent(models.Model):
    """Append-only, hash-chained: hash = sha256(prev_hash ‖ payload), payload = canonical JSON of the event.

    Written only by `core.audit.audit_record`, in the same transaction as the change it records, with
    `prev_hash`, `hash` and `chain_position` NULL; `core.audit.audit_chain` fills those in once the
    transaction has committed (the chain's order is `chain_position`, see core/audit.py). PostgreSQL
    refuses DELETE and every UPDATE but that one.

    The table is partitioned by month of `created_at` (UTC): in the database the primary key is
    (sequence, created_at), and `sequence`, `chain_position` and `hash` are each unique across every
    month through AuditEventKey (core/sql/partitioned_audit.sql).
    """

    sequence = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    # The exact text hashed (core.audit.event_body); the columns above must say the same (audit_verify checks).
    payload = models.TextField()
    # NULL until chained: NULL is "not yet", distinct from any hash (and unique allows many of them).
    prev_hash = models.CharField(max_length=64, null=True, blank=True)
    # Unique through AuditEventKey (a partitioned table's unique index would have to include created_at).
    hash = models.CharField(max_length=64, null=True, blank=True)
    chain_position = models.BigIntegerField(db_index=True, null=True, blank=True)

    class Meta:
        # The table kept the name it had when the model lived in compliance (moved in place, no copy).
        db_table = "compliance_auditevent"
        ordering = ["sequence"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="auditevent_object_idx"),
                   models.Index(fields=["sequence"], condition=models.Q(hash__isnull=True),
                                name="auditevent_unchained_idx")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class AuditEventKey(models.Model):
    """Every audit event's sequence, month and chain place, unique across every month's partition and kept
    after a month is detached (a sequence, position or hash is never reused; the chainer continues from the
    highest position here). Written by PostgreSQL only: the events' insert and chaining statements fill it
    in (core/sql/partitioned_audit.sql); append-only but for that chaining step."""

    sequence = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    chain_position = models.BigIntegerField(null=True, blank=True)
    hash = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["sequence"]
        constraints = [models.UniqueConstraint(fields=["chain_position"], name="auditeventkey_position_unique"),
                       models.UniqueConstraint(fields=["hash"], name="auditeventkey_hash_unique")]

    def __str__(self) -> str:
        return f"#{self.sequence} at {self.chain_position}"
