"""Products (curated, versioned terms) and customers' positions in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField


class TermType(models.TextChoices):
    DEMAND = "demand", _("Flexible (demand)")
    FIXED = "fixed", _("Fixed term")


class Strategy(models.TextChoices):
    SIMPLE = "simple", _("Simple")
    LIQUIDITY_MINING = "liquidity_mining", _("Liquidity mining")


class Category(models.TextChoices):
    """What the product does with the customer's assets; suitability rules are written per category."""

    LENDING = "lending", _("Lending")
    STAKING = "staking", _("Staking")
    LIQUIDITY_MINING = "liquidity_mining", _("Liquidity mining")
    STRUCTURED = "structured", _("Structured product")


class ProductStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    LIVE = "live", _("Live")
    PAUSED = "paused", _("Paused")
    CLOSED = "closed", _("Closed")


class LaunchMethod(models.TextChoices):
    PRO_RATA = "pro_rata", _("Pro-rata")
    FCFS = "fcfs", _("First come, first served")


class Product(models.Model):
    """A vetted Earn product. Terms live in versioned `ProductTerms`; counters live here."""

    name_en = models.CharField(_("name (English)"), max_length=120)
    name_zh_hant = models.CharField(_("name (Traditional Chinese)"), max_length=120)
    asset = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="products")
    term_type = models.CharField(_("term type"), max_length=8, choices=TermType.choices)
    strategy = models.CharField(_("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.SIMPLE)
    status = models.CharField(_("status"), max_length=12, choices=ProductStatus.choices,
                              default=ProductStatus.DRAFT, db_index=True)
    risk_rating = models.PositiveSmallIntegerField(_("risk rating (1–5)"))

    # Vetting data filled by staff before review.
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.LENDING,
                                help_text=_("what is done with customers' assets; decides who may be offered it"))
    venue = models.CharField(_("venue or protocol"), max_length=120, blank=True)
    # Who owes the assets back when the venue is not the debtor itself (a lending desk's borrower, a structured
    # product's issuer). Exposure is also summed per counterparty against `ExposureLimit` rows of that kind.
    counterparty = models.CharField(_("counterparty (borrower or issuer)"), max_length=120, blank=True,
                                    help_text=_("lending: the borrower; structured: the issuer; empty otherwise"))
    chain = models.CharField(_("chain"), max_length=60, blank=True)
    contract_address = models.CharField(_("contract address"), max_length=120, blank=True)
    audit_reports = models.JSONField(_("audit reports"), default=list, blank=True,
                                     help_text=_('[{"url": "...", "date": "YYYY-MM-DD", "auditor": "..."}]'))
    tvl_usd = MoneyField(verbose_name=_("TVL (USD)"), null=True, blank=True)
    yield_source = models.TextField(_("how the yield is produced"), blank=True)
    risk_rationale = models.TextField(_("reasons for the risk rating"), blank=True)
    # The customer-facing vetting text in Traditional Chinese, edited beside the English (product page).
    yield_source_zh_hant = models.TextField(_("how the yield is produced (Traditional Chinese)"), blank=True)
    risk_rationale_zh_hant = models.TextField(_("reasons for the risk rating (Traditional Chinese)"), blank=True)
    reviewer_notes = models.TextField(_("reviewer's notes"), blank=True)
    # Liquidity mining: the daily risk-alert job tells holders and staff once the impermanent loss since a
    # holder's entry passes this fraction (0.05 = 5 %); empty: the POOL_IL_ALERT_THRESHOLD setting applies.
    il_alert_threshold = MoneyField(verbose_name=_("impermanent-loss alert threshold"), null=True, blank=True,
                                    help_text=_("pools only: alert once the loss against holding reaches this fraction "
                                                "(0.05 = 5 %)"))

    # Counters: `sold_amount` is reserved with a conditional UPDATE against `total_cap`.
    total_cap = MoneyField(verbose_name=_("total cap"), null=True, blank=True)
    sold_amount = MoneyField(verbose_name=_("sold amount"), default=0)

    # Launch mode (earn.services.launch): set `launch_method` and customers commit amounts during the
    # window instead of subscribing; the quota is allocated once the window closes.
    launch_method = models.CharField(_("launch allocation"), max_length=8, choices=LaunchMethod.choices, blank=True,
                                     default="", help_text=_("empty: not a launch (customers subscribe directly)"))
    launch_window_start = models.DateTimeField(_("launch window opens"), null=True, blank=True)
    launch_window_end = models.DateTimeField(_("launch window closes"), null=True, blank=True)
    launch_quota = MoneyField(verbose_name=_("launch quota"), null=True, blank=True,
                              help_text=_("the amount allocated when the window closes"))
    launch_min_lot = MoneyField(verbose_name=_("minimum lot"), null=True, blank=True,
                                help_text=_("smallest commitment, and smallest allocation"))
    launch_user_cap = MoneyField(verbose_name=_("per-user allocation cap"), null=True, blank=True,
                                 help_text=_("most one customer is allocated; empty: no cap"))

    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   help_text=_("who drafted or last edited; may not approve"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        permissions = [
            ("submit_product", "Can submit a product for review"),
            ("approve_product", "Can approve or reject a product"),
            ("operate_product", "Can take a product live, pause or close it"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(risk_rating__gte=1, risk_rating__lte=5), name="product_risk_1_5"),
            models.CheckConstraint(condition=Q(category__in=["lending", "staking", "liquidity_mining", "structured"]),
                                   name="product_category_known"),
            models.CheckConstraint(condition=~Q(strategy="liquidity_mining") | Q(category="liquidity_mining"),
                                   name="product_pool_is_liquidity_mining"),
            models.CheckConstraint(condition=Q(counterparty="") | Q(category__in=["lending", "structured"]),
                                   name="product_counterparty_lending_structured"),
            models.CheckConstraint(
                condition=Q(il_alert_threshold__isnull=True)
                | Q(category="liquidity_mining", il_alert_threshold__gt=0, il_alert_threshold__lt=1),
                name="product_il_threshold_pool_fraction"),
            models.CheckConstraint(condition=Q(sold_amount__gte=0), name="product_sold_non_negative"),
            models.CheckConstraint(condition=Q(total_cap__isnull=True) | Q(sold_amount__lte=models.F("total_cap")),
                                   name="product_sold_within_cap"),
            models.CheckConstraint(condition=Q(total_cap__isnull=True) | Q(total_cap__gt=0),
                                   name="product_total_cap_positive"),
            models.CheckConstraint(
                condition=Q(launch_method="")
                | (Q(launch_method__in=["pro_rata", "fcfs"], launch_window_start__isnull=False,
                     launch_window_end__gt=models.F("launch_window_start"), launch_quota__gt=0, launch_min_lot__gt=0,
                     launch_min_lot__lte=models.F("launch_quota"))
                   & (Q(launch_user_cap__isnull=True) | Q(launch_user_cap__gte=models.F("launch_min_lot")))),
                name="product_launch_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name_en

    @property
    def is_launch(self) -> bool:
        return bool(self.launch_method)

    def name_for(self, language: str) -> str:
        return self.name_zh_hant if language.lower().startswith("zh") else self.name_en


class PayoutMode(models.TextChoices):
    DAILY = "daily", _("Daily")
    AT_MATURITY = "at_maturity", _("At maturity")


class EarlyRedemption(models.TextChoices):
    NOT_ALLOWED = "not_allowed", _("Not allowed")
    FORFEIT_INTEREST = "forfeit_interest", _("Forfeit interest paid")
    PENALTY_RATE = "penalty_rate", _("Re-priced at a penalty rate")


class RedemptionMode(models.TextChoices):
    FAST = "fast", _("Fast (instant)")
    STANDARD = "standard", _("Standard (settles next day)")


class TermsStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ProductTerms(models.Model):
    """One version of a product's terms. Never edited once approved: a change is a new version.

    The version in force on day D is the approved one with the latest `effective_from` <= D.
    Fixed-term positions keep the version they subscribed under; demand positions follow the
    version in force (that is how a demand product's rate changes, with history kept).
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="terms_versions")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=TermsStatus.choices, default=TermsStatus.PENDING)
    effective_from = models.DateField(_("effective from"))
    term_days = models.PositiveIntegerField(_("term (days)"), null=True, blank=True)
    day_count_basis = models.PositiveSmallIntegerField(_("day-count basis"), choices=[(365, "365"), (360, "360")],
                                                       default=365)
    payout = models.CharField(_("payout"), max_length=12, choices=PayoutMode.choices, default=PayoutMode.DAILY)
    min_amount = MoneyField(verbose_name=_("minimum per subscription"))
    max_amount = MoneyField(verbose_name=_("maximum per subscription"), null=True, blank=True)
    per_user_cap = MoneyField(verbose_name=_("per-user cap"), null=True, blank=True)
    total_cap = MoneyField(verbose_name=_("total cap"), null=True, blank=True)
    window_start = models.DateTimeField(_("subscription window opens"), null=True, blank=True)
    window_end = models.DateTimeField(_("subscription window closes"), null=True, blank=True)
    early_redemption = models.CharField(_("early redemption"), max_length=16, choices=EarlyRedemption.choices,
                                        default=EarlyRedemption.NOT_ALLOWED)
    penalty_apr = MoneyField(verbose_name=_("penalty APR"), null=True, blank=True)
    redemption_modes = models.JSONField(_("redemption modes"), default=list, blank=True)
    auto_renew_allowed = models.BooleanField(_("auto-renew allowed"), default=False)
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["product_id", "version"]
        verbose_name_plural = "product terms"
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="productterms_product_version_unique"),
            models.CheckConstraint(condition=Q(min_amount__gt=0), name="productterms_min_positive"),
            models.CheckConstraint(condition=Q(max_amount__isnull=True) | Q(max_amount__gte=models.F("min_amount")),
                                   name="productterms_max_ge_min"),
            models.CheckConstraint(condition=Q(term_days__isnull=True) | Q(term_days__gt=0),
                                   name="productterms_term_positive"),
            models.CheckConstraint(
                condition=~Q(early_redemption="penalty_rate") | Q(penalty_apr__isnull=False, penalty_apr__gte=0),
                name="productterms_penalty_rate_given",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True) | Q(window_end__isnull=True)
                | Q(window_end__gt=models.F("window_start")),
                name="productterms_window_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="productterms_approval_recorded",
            ),
            models.CheckConstraint(condition=~Q(status="approved") | ~Q(approved_by=models.F("drafted_by")),
                                   name="productterms_maker_not_checker"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} v{self.version}"


class RateTier(models.Model):
    """A marginal APR band of one terms version: [lower, upper) earns `apr` (0.05 = 5 %)."""

    terms = models.ForeignKey(ProductTerms, on_delete=models.CASCADE, related_name="tiers")
    lower = MoneyField(default=0)
    upper = MoneyField(null=True, blank=True, help_text=_("empty = no upper bound"))
    apr = MoneyField()

    class Meta:
        ordering = ["terms_id", "lower"]
        constraints = [
            models.UniqueConstraint(fields=["terms", "lower"], name="ratetier_terms_lower_unique"),
            models.CheckConstraint(condition=Q(lower__gte=0), name="ratetier_lower_non_negative"),
            models.CheckConstraint(condition=Q(upper__isnull=True) | Q(upper__gt=models.F("lower")),
                                   name="ratetier_upper_gt_lower"),
            models.CheckConstraint(condition=Q(apr__gte=0, apr__lt=10), name="ratetier_apr_range"),
        ]

    def __str__(self) -> str:
        return f"{self.lower}–{self.upper or '∞'} @ {self.apr}"
