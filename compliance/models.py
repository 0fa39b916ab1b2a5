"""Disclosures, acknowledgements, refusals, rules, assessments, complaints (the audit trail lives in core)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance.disclosure_templates import TEMPLATES
from core.models import AuditEvent as CoreAuditEvent

SECTION_CATEGORIES = sorted(TEMPLATES)


class DisclosureStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CURRENT = "current", _("Approved, current")
    SUPERSEDED = "superseded", _("Approved, superseded")
    REJECTED = "rejected", _("Rejected")


class Disclosure(models.Model):
    """One version of a product's risk disclosure, bilingual; the English version prevails.

    `risk_statements` is a list of {"key", "en", "zh-hant"}; a customer ticks every one.
    `sections` is {key: {"en", "zh-hant"}}: the sections the product's category requires
    (compliance.disclosure_templates), written for `category`; a version is approved only when every
    required section has both languages.
    `sha256` covers the canonical content (bodies + statements + sections), so an acknowledgement proves
    exactly what was shown.
    """

    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="disclosures")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=DisclosureStatus.choices, default=DisclosureStatus.DRAFT)
    body_en = models.TextField(_("body (English)"))
    body_zh_hant = models.TextField(_("body (Traditional Chinese)"))
    risk_statements = models.JSONField(_("risk statements"), default=list)
    sections = models.JSONField(_("sections"), default=dict, blank=True)
    # The product's category the sections were written for (empty on versions drafted before sections).
    category = models.CharField(_("category"), max_length=20, blank=True, default="")
    sha256 = models.CharField(max_length=64)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["product_id", "version"]
        permissions = [("approve_disclosure", "Can approve a disclosure version")]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="disclosure_product_version_unique"),
            models.UniqueConstraint(fields=["product"], condition=Q(status="current"),
                                    name="disclosure_one_current_per_product"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "rejected"]) | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="disclosure_approval_recorded",
            ),
            models.CheckConstraint(condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("author")),
                                   name="disclosure_maker_not_checker"),
            models.CheckConstraint(condition=Exact(Func(F("sections"), function="jsonb_typeof",
                                                        output_field=models.CharField()), "object"),
                                   name="disclosure_sections_object"),
            models.CheckConstraint(condition=Q(category__in=["", *SECTION_CATEGORIES]),
                                   name="disclosure_category_known"),
            # A version written for a category is approved only with its sections (the service checks each one
            # in both languages; the database at least refuses an approved version with none).
            models.CheckConstraint(condition=Q(status__in=["draft", "rejected"]) | Q(category="") | ~Q(sections={}),
                                   name="disclosure_approved_has_sections"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} disclosure v{self.version}"


class AuditEvent(CoreAuditEvent):
    """The audit trail (`core.models.AuditEvent`) as the compliance admin shows it.

    A proxy, so the admin keeps its address (/admin/compliance/auditevent/) and the roles keep the
    `compliance.view_auditevent` permission; code reads and writes the trail through `core`.
    """

    class Meta:
        proxy = True
        ordering = ["sequence"]


class Acknowledgement(models.Model):
    """A customer's acknowledgement of one disclosure version: what was shown, and when, from where.

    `sha256` is the acknowledged version's hash; `previous_sha256` that of the version the customer had
    acknowledged before (empty the first time), so the record proves which redline was read.

    The table is partitioned by month of `accepted_at` (UTC): in the database the primary key is
    (id, accepted_at), and `id` alone is unique through AcknowledgementKey, which is also what
    subscriptions, launch commitments and pool deposits reference (compliance/sql/partitioned_acknowledgements.sql).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="acknowledgements")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="acknowledgements")
    disclosure = models.ForeignKey(Disclosure, on_delete=models.PROTECT, related_name="acknowledgements")
    disclosure_version = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    # The version acknowledged before this one (the base of the redline the customer was shown), if any.
    previous_version = models.PositiveIntegerField(null=True, blank=True)
    previous_sha256 = models.CharField(max_length=64, blank=True, default="")
    statements = models.JSONField(help_text=_("keys of the risk statements ticked"))
    language = models.CharField(max_length=8)
    accepted_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "product", "-accepted_at"], name="ack_user_product_idx")]

    def __str__(self) -> str:
        return f"ack {self.user_id} {self.product_id} v{self.disclosure_version}"


class AcknowledgementKey(models.Model):
    """Every acknowledgement's id and month, unique across every month's partition and kept after a month is
    detached for retention (an id is never reused). The foreign keys of subscriptions, launch commitments and
    pool deposits point here (a foreign key to a partitioned table would have to carry accepted_at). Written
    by PostgreSQL only, by the acknowledgements' insert statement; append-only.

    It also carries who acknowledged which disclosure of which product, so the gate finds a customer's latest
    acknowledgement here: a query of the partitioned table without a month would lock every month's partition
    and index on every money request. Keys of months detached before these columns existed have none. The
    acknowledgement row's own foreign keys vouch for the three ids, so they have no constraint here.

    Subscriptions and launch commitments reference (id, user, product) (compliance 0015): the database itself
    refuses one that cites another customer's acknowledgement, or one of another product. The application's
    database role may only read this table (core.db_roles.TRIGGER_FILLED_TABLES), so it cannot write a key
    row that vouches for an acknowledgement never given."""

    id = models.BigIntegerField(primary_key=True)
    accepted_at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False, db_index=False)
    product = models.ForeignKey("earn.Product", null=True, on_delete=models.PROTECT, related_name="+",
                                db_constraint=False, db_index=False)
    disclosure = models.ForeignKey(Disclosure, null=True, on_delete=models.PROTECT, related_name="+",
                                   db_constraint=False, db_index=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "product", "-accepted_at", "-id"], name="ackkey_user_product_idx")]
        # What the subscriptions' and commitments' (acknowledgement, user, product) foreign keys reference.
        constraints = [models.UniqueConstraint(fields=["id", "user", "product"], name="ackkey_id_user_product")]

    def __str__(self) -> str:
        return f"acknowledgement {self.id} ({self.accepted_at:%Y-%m})"


class Refusal(models.Model):
    """A refused subscription (or other money move), kept for the compliance reports."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refusals")
    product = models.ForeignKey("earn.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="refusals")
    action = models.CharField(max_length=32, default="subscribe")
    amount = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    codes = models.JSONField()
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # A blocked attempt in the portal (a restricted or cooling-off customer reaching the subscribe, preview or
    # confirm step) is kept once per customer, product, reason and day: `reason` is the one code, `day` the UTC day.
    reason = models.CharField(max_length=40, blank=True)
    day = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "product", "reason", "day"], condition=Q(day__isnull=False),
                                    name="refusal_blocked_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"refusal {self.user_id} {self.codes}"


class JurisdictionRule(models.Model):
    """What the gate demands of customers resident in one country; edited by compliance officers in the admin.

    Countries without a row get only the rules every customer meets (restricted list, acknowledgement).
    """

    country = models.CharField(_("country"), max_length=2, unique=True, help_text=_("ISO 3166-1 alpha-2"))
    assessment_min_risk = models.PositiveSmallIntegerField(
        _("assessment from risk rating"), null=True, blank=True,
        help_text=_("Products rated at or above this need a passed assessment; empty: never."))
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=70)
    retake_wait_hours = models.PositiveIntegerField(_("wait before a retake (hours)"), default=24)
    exposure_limit = models.BooleanField(_("exposure limit by risk profile"), default=False)
    exposure_shares = models.JSONField(
        _("share of net worth per risk profile"), default=dict, blank=True,
        help_text=_('e.g. {"conservative": "0.10", "moderate": "0.30", "high": "0.50"}'))
    professional_exempt = models.BooleanField(
        _("professional investors exempt"), default=False,
        help_text=_("Professional investors skip the assessment and the exposure limit."))
    cooling_off_hours = models.PositiveIntegerField(_("cooling-off from first view of Earn (hours)"), default=0)
    risk_warnings = models.BooleanField(_("prescribed and personalised risk warnings"), default=False)
    notes = models.TextField(_("legal basis and notes"), blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["country"]
        constraints = [
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="jurisdictionrule_country_iso2"),
            models.CheckConstraint(condition=Q(pass_mark__gte=1, pass_mark__lte=100),
                                   name="jurisdictionrule_pass_mark_1_100"),
            models.CheckConstraint(condition=Q(assessment_min_risk__isnull=True)
                                   | Q(assessment_min_risk__gte=1, assessment_min_risk__lte=5),
                                   name="jurisdictionrule_assessment_risk_1_5"),
        ]

    def __str__(self) -> str:
        return f"rules for {self.country}"


class RiskProfile(models.TextChoices):
    CONSERVATIVE = "conservative", _("Conservative")
    MODERATE = "moderate", _("Moderate")
    HIGH = "high", _("High")


class CustomerProfile(models.Model):
    """Per-customer compliance facts: risk profile and declared net worth (HK), first view of Earn (GB)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="compliance_profile")
    risk_profile = models.CharField(_("risk profile"), max_length=12, choices=RiskProfile.choices, blank=True)
    net_worth_usd = models.DecimalField(_("declared net worth (USD)"), max_digits=38, decimal_places=18, null=True,
                                        blank=True)
    professional_investor = models.BooleanField(
        _("professional investor"), default=False,
        help_text=_("Institutional or qualified corporate professional investor (exempt where the rule says so)."))
    profiled_at = models.DateTimeField(null=True, blank=True)
    earn_first_viewed_at = models.DateTimeField(_("first viewed Earn"), null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(net_worth_usd__isnull=True) | Q(net_worth_usd__gte=0),
                                   name="customerprofile_net_worth_non_negative"),
        ]

    def __str__(self) -> str:
        return f"profile {self.user_id}"


class ProductKind(models.TextChoices):
    """What an assessment covers: general questions plus those of the product's kind."""

    DEMAND = "demand", _("Flexible savings")
    FIXED = "fixed", _("Fixed term (lock-up)")
    LIQUIDITY_MINING = "liquidity_mining", _("Liquidity mining")


class AssessmentQuestion(models.Model):
    """One multiple-choice question of a jurisdiction's bank; `product_kinds` empty means every kind."""

    jurisdiction = models.CharField(_("jurisdiction"), max_length=2)
    key = models.SlugField(max_length=60)
    topic = models.CharField(max_length=40, help_text=_("e.g. virtual_assets, lock_up, impermanent_loss"))
    product_kinds = models.JSONField(default=list, blank=True)
    text_en = models.TextField()
    text_zh_hant = models.TextField()
    choices = models.JSONField(help_text=_('[{"key": "a", "en": "…", "zh-hant": "…"}]'))
    answer = models.CharField(max_length=20)
    key_risk = models.BooleanField(
        _("tests a key risk"), default=False,
        help_text=_("A wrong answer fails the assessment whatever the score (the product's key risks)."))
    explanation_en = models.TextField(_("explanation (English)"), blank=True,
                                      help_text=_("Shown to a customer who answered it wrongly."))
    explanation_zh_hant = models.TextField(_("explanation (Traditional Chinese)"), blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["jurisdiction", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["jurisdiction", "key"], name="assessmentquestion_key_unique")]

    def __str__(self) -> str:
        return f"{self.jurisdiction}:{self.key}"


class AssessmentAttempt(models.Model):
    """A customer's answers, score and outcome; kept forever, the newest per kind decides."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessments")
    jurisdiction = models.CharField(max_length=2)
    product_kind = models.CharField(max_length=20, choices=ProductKind.choices)
    answers = models.JSONField(help_text=_("{question key: choice key}"))
    score = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    percent = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    retake_after = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "product_kind", "-created_at"], name="assessment_user_kind_idx")]
        constraints = [models.CheckConstraint(condition=Q(score__lte=models.F("total")),
                                              name="assessmentattempt_score_le_total")]

    def __str__(self) -> str:
        return f"assessment {self.user_id} {self.product_kind} {'pass' if self.passed else 'fail'}"


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved (final response sent)")
    REJECTED = "rejected", _("Rejected (final response sent)")


class Complaint(models.Model):
    """A customer's complaint about a product or position; a final response is due within 8 weeks."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="complaints")
    product = models.ForeignKey("earn.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="complaints")
    position = models.ForeignKey("earn.Position", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="complaints")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("complaint"))
    status = models.CharField(max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    notes = models.TextField(_("handling notes"), blank=True)
    final_response = models.TextField(_("final response"), blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    deadline_at = models.DateTimeField(_("final response due"))
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(product__isnull=False) | Q(position__isnull=False),
                                   name="complaint_about_product_or_position"),
            models.CheckConstraint(condition=Q(status__in=["open", "investigating"]) | Q(closed_at__isnull=False),
                                   name="complaint_closed_at_recorded"),
        ]

    def __str__(self) -> str:
        return f"complaint {self.pk}: {self.subject}"


class ProductCategory(models.TextChoices):
    """What a product does with the customer's assets (earn's `Product.category`; compliance sits below earn)."""

    LENDING = "lending", _("Lending")
    STAKING = "staking", _("Staking")
    LIQUIDITY_MINING = "liquidity_mining", _("Liquidity mining")
    STRUCTURED = "structured", _("Structured product")


class InvestorClass(models.TextChoices):
    """The customer's class: professional where the compliance profile says so, retail otherwise."""

    RETAIL = "retail", _("Retail")
    PROFESSIONAL = "professional", _("Professional")




class CategoryRule(models.Model):
    """Whether customers of one jurisdiction and investor class may be offered products of one category.

    Rows are versions, like product terms: the rule in force at time T for (jurisdiction, category, class) is
    the one with the latest `effective_from` <= T; a rule in force is never edited (the trail of what applied
    stays readable), a change is a new row from a later time. The country's own rule wins over the default
    (`*`); with neither, the category is permitted (docs/COMPLIANCE.md, "Product categories").
    """

    jurisdiction = models.CharField(_("jurisdiction"), max_length=2,
                                    help_text=_("ISO 3166-1 alpha-2, or * for the default"))
    category = models.CharField(_("product category"), max_length=20, choices=ProductCategory.choices)
    investor_class = models.CharField(_("investor class"), max_length=12, choices=InvestorClass.choices)
    permitted = models.BooleanField(_("may be offered"))
    max_risk_rating = models.PositiveSmallIntegerField(
        _("highest risk rating offered"), null=True, blank=True,
        help_text=_("Products rated above this are not offered; empty: any rating."))
    requires_assessment = models.BooleanField(
        _("requires a passed assessment"), default=False,
        help_text=_("The customer must have passed the knowledge assessment of the product's kind, whatever its "
                    "risk rating (the jurisdiction needs a question bank)."))
    effective_from = models.DateTimeField(_("effective from"))
    notes = models.TextField(_("legal basis and source"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text=_("empty: installed with the defaults"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["jurisdiction", "category", "investor_class", "-effective_from"]
        indexes = [models.Index(fields=["jurisdiction", "category", "investor_class", "-effective_from"],
                                name="categoryrule_in_force_idx")]
        constraints = [
            models.UniqueConstraint(fields=["jurisdiction", "category", "investor_class", "effective_from"],
                                    name="categoryrule_one_per_instant"),
            models.CheckConstraint(condition=Q(jurisdiction__regex=r"^([A-Z]{2}|\*)$"),
                                   name="categoryrule_jurisdiction_iso2_or_default"),
            models.CheckConstraint(condition=Q(category__in=["lending", "staking", "liquidity_mining", "structured"]),
                                   name="categoryrule_category_known"),
            models.CheckConstraint(condition=Q(investor_class__in=["retail", "professional"]),
                                   name="categoryrule_investor_class_known"),
            models.CheckConstraint(condition=Q(max_risk_rating__isnull=True)
                                   | Q(max_risk_rating__gte=1, max_risk_rating__lte=5),
                                   name="categoryrule_max_risk_1_5"),
            # Conditions qualify an offer: a refusal carries none.
            models.CheckConstraint(condition=Q(permitted=True)
                                   | Q(max_risk_rating__isnull=True, requires_assessment=False),
                                   name="categoryrule_conditions_only_when_permitted"),
            models.CheckConstraint(condition=~Q(notes=""), name="categoryrule_source_given"),
        ]

    def __str__(self) -> str:
        return f"{self.jurisdiction} {self.category} {self.investor_class} from {self.effective_from:%Y-%m-%d %H:%M}"
