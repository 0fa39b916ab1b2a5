"""Liquidity-mining pools: the vetted pool behind a liquidity_mining product, customers' pool positions,
and the records of deposits, redemptions, arbitrage re-balances and daily distributions.

Balances live in the ledger: the pool's reserves in the platform `pool_reserve` account of each asset,
pool shares as a per-pool ledger asset (the LP token) — issued from the platform `pool_reserve` account of
that asset to customers' `pool_share` accounts. The columns here mirror the ledger and `reconcile` proves it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MoneyField
from earn.models.products import TermType


class FeeMode(models.TextChoices):
    COMPOUND = "compound", _("Compound into the pool")
    PAYOUT = "payout", _("Pay out daily")


class Pool(models.Model):
    """A constant-product pool of (asset a, asset b); the product's venue, chain and contract say where."""

    product = models.OneToOneField("earn.Product", on_delete=models.PROTECT, related_name="pool")
    asset_a = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="+")
    asset_b = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="+")
    share_asset = models.OneToOneField("ledger.Asset", on_delete=models.PROTECT, related_name="share_of_pool",
                                       help_text=_("the pool's LP token as a ledger asset"))
    fee_rate = MoneyField(verbose_name=_("trading fee rate"), help_text=_("0.003 = 0.3 % of each trade"))
    fee_mode = models.CharField(_("fee income"), max_length=10, choices=FeeMode.choices, default=FeeMode.PAYOUT)
    reserve_a = MoneyField(default=0)
    reserve_b = MoneyField(default=0)
    total_shares = MoneyField(default=0)
    reward_asset = models.ForeignKey("ledger.Asset", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text=_("governance token paid as rewards"))
    daily_emission = MoneyField(verbose_name=_("reward emission per day"), default=0,
                                help_text=_("to the whole venue pool; ours is our share of its liquidity"))
    daily_volume_usd = MoneyField(verbose_name=_("trading volume per day (USD)"), default=0,
                                  help_text=_("of the whole venue pool (its TVL is the product's vetted TVL): fee "
                                              "income per day = fee rate × volume × our share of its liquidity"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(reserve_a__gte=0, reserve_b__gte=0, total_shares__gte=0),
                                   name="pool_amounts_non_negative"),
            models.CheckConstraint(condition=Q(fee_rate__gte=0, fee_rate__lt="0.1"), name="pool_fee_rate_range"),
            models.CheckConstraint(condition=~Q(asset_a=F("asset_b")), name="pool_assets_differ"),
            models.CheckConstraint(condition=Q(daily_emission__gte=0, daily_volume_usd__gte=0),
                                   name="pool_emission_volume_non_negative"),
            models.CheckConstraint(condition=Q(daily_emission=0) | Q(reward_asset__isnull=False),
                                   name="pool_emission_has_asset"),
            # Shares outstanding need reserves behind them.
            models.CheckConstraint(condition=Q(total_shares=0) | Q(reserve_a__gt=0, reserve_b__gt=0),
                                   name="pool_shares_backed"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_a_id}/{self.asset_b_id} pool ({self.product_id})"


class PoolPositionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    REDEEMED = "redeemed", _("Redeemed")
    MATURED = "matured", _("Matured")


class PoolPosition(models.Model):
    """A customer's pool shares in one pool product.

    Demand: one per (user, pool). Fixed: one per deposit (a lot), returned at maturity.
    `cost_a`/`cost_b` are the assets deposited for the shares still held (reduced pro rata on partial
    redemption): what "simply holding" would have kept.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pool_positions")
    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="positions")
    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="pool_positions")
    term_type = models.CharField(max_length=8, choices=TermType.choices)
    status = models.CharField(max_length=10, choices=PoolPositionStatus.choices, default=PoolPositionStatus.ACTIVE)
    shares = MoneyField(default=0)
    cost_a = MoneyField(default=0)
    cost_b = MoneyField(default=0)
    cost_usd = MoneyField(default=0, help_text=_("USD value of the deposits when made"))
    compound_rewards = models.BooleanField(default=False, help_text=_("reinvest rewards into the pool"))
    value_date = models.DateField(help_text=_("first day the (first) shares earn"))
    maturity_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["pool", "status"], name="poolposition_pool_status_idx"),
                   models.Index(fields=["user", "status"], name="poolposition_user_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(shares__gte=0, cost_a__gte=0, cost_b__gte=0, cost_usd__gte=0),
                                   name="poolposition_amounts_non_negative"),
            models.UniqueConstraint(fields=["user", "pool"], condition=Q(term_type="demand"),
                                    name="poolposition_one_demand_per_user_pool"),
            models.CheckConstraint(condition=Q(term_type="demand") | Q(maturity_date__isnull=False),
                                   name="poolposition_fixed_has_maturity"),
            models.CheckConstraint(condition=~Q(status="active") | Q(closed_at__isnull=True),
                                   name="poolposition_active_not_closed"),
        ]

    def __str__(self) -> str:
        return f"pool position {self.pk} ({self.pool_id}, user {self.user_id})"


class PoolShareChange(models.Model):
    """Shares that earn from a day: +shares from T+1 for a deposit on T, −shares from T for a redemption on T."""

    position = models.ForeignKey(PoolPosition, on_delete=models.PROTECT, related_name="share_changes")
    effective_date = models.DateField()
    shares = MoneyField()
    reason = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["position", "effective_date"], name="poolsharechange_pos_date_idx")]
        constraints = [models.CheckConstraint(condition=~Q(shares=0), name="poolsharechange_non_zero")]

    def __str__(self) -> str:
        return f"{self.shares:+} shares from {self.effective_date} ({self.reason})"


class DepositMode(models.TextChoices):
    PAIR = "pair", _("Both assets in the pool ratio")
    SINGLE = "single", _("One asset, half swapped at the pool price")


class PoolDeposit(models.Model):
    """One accepted deposit (the pool product's subscription)."""

    position = models.ForeignKey(PoolPosition, on_delete=models.PROTECT, related_name="deposits")
    mode = models.CharField(max_length=8, choices=DepositMode.choices)
    asset_in = models.ForeignKey("ledger.Asset", on_delete=models.PROTECT, related_name="+",
                                 help_text=_("the asset the amount was given in"))
    amount_a = MoneyField(help_text=_("asset a taken from the customer (incl. any swapped part)"))
    amount_b = MoneyField(help_text=_("asset b taken from the customer (incl. any swapped part)"))
    swap_fee = MoneyField(default=0, help_text=_("one-asset deposits: the pool's fee on the swapped half"))
    shares = MoneyField()
    price_a_usd = MoneyField()
    price_b_usd = MoneyField()
    value_usd = MoneyField()
    # The database's foreign key points at compliance_acknowledgementkey (acknowledgements are partitioned).
    acknowledgement = models.ForeignKey("compliance.Acknowledgement", null=True, blank=True, db_constraint=False,
                                        on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(shares__gt=0, amount_a__gte=0, amount_b__gte=0),
                                              name="pooldeposit_amounts_valid")]

    def __str__(self) -> str:
        return f"pool deposit {self.pk}: {self.shares} shares"


class PoolWithdrawal(models.Model):
    """One redemption: shares burnt, both assets returned, and the result against simply holding."""

    position = models.ForeignKey(PoolPosition, on_delete=models.PROTECT, related_name="withdrawals")
    shares = MoneyField()
    amount_a = MoneyField()
    amount_b = MoneyField()
    withheld_a = MoneyField(default=0, help_text=_("early-redemption rule: fees withheld"))
    withheld_b = MoneyField(default=0)
    value_usd = MoneyField(help_text=_("what was returned, in USD at the prices of the moment"))
    hold_value_usd = MoneyField(help_text=_("what the deposited assets would be worth now, simply held"))
    early = models.BooleanField(default=False)
    maturity = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(
            condition=Q(shares__gt=0, amount_a__gte=0, amount_b__gte=0, withheld_a__gte=0, withheld_b__gte=0),
            name="poolwithdrawal_amounts_valid")]

    def __str__(self) -> str:
        return f"pool withdrawal {self.pk}: {self.shares} shares"


class PoolRebalance(models.Model):
    """Reserves moved to a new price as arbitrage would (k kept): the trade is posted against `external`."""

    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="rebalances")
    price_a_usd = MoneyField()
    price_b_usd = MoneyField()
    reserve_a_before = MoneyField()
    reserve_b_before = MoneyField()
    reserve_a_after = MoneyField()
    reserve_b_after = MoneyField()
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"pool {self.pool_id} re-balanced to {self.price_a_usd}/{self.price_b_usd}"


class PoolDay(models.Model):
    """One pool's distribution for one day: unique per (pool, date), so it happens exactly once."""

    pool = models.ForeignKey(Pool, on_delete=models.PROTECT, related_name="days")
    date = models.DateField()
    fee_mode = models.CharField(max_length=10, choices=FeeMode.choices)
    volume_usd = MoneyField()
    fee_a = MoneyField(default=0)
    fee_b = MoneyField(default=0)
    reward = MoneyField(default=0)
    reward_compounded = MoneyField(default=0, help_text=_("part of the reward reinvested for compounding positions"))
    earning_shares = MoneyField(default=0)
    positions = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["pool_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "date"], name="poolday_pool_date_unique"),
            models.CheckConstraint(condition=Q(fee_a__gte=0, fee_b__gte=0, reward__gte=0, reward_compounded__gte=0),
                                   name="poolday_amounts_non_negative"),
        ]

    def __str__(self) -> str:
        return f"pool {self.pool_id} {self.date}"


class PoolPayout(models.Model):
    """One position's part of a pool day (largest-remainder split by earning shares): its history."""

    day = models.ForeignKey(PoolDay, on_delete=models.PROTECT, related_name="payouts")
    position = models.ForeignKey(PoolPosition, on_delete=models.PROTECT, related_name="payouts")
    date = models.DateField()
    shares = MoneyField()
    fee_a = MoneyField(default=0)
    fee_b = MoneyField(default=0)
    reward = MoneyField(default=0)
    reward_shares = MoneyField(default=0, help_text=_("shares minted by reinvesting the reward"))
    fee_compounded = models.BooleanField(default=False)
    income_usd = MoneyField(default=0, help_text=_("fees and reward in USD at the day's closing prices"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["position", "date"], name="poolpayout_position_date_unique"),
            models.CheckConstraint(condition=Q(fee_a__gte=0, fee_b__gte=0, reward__gte=0, reward_shares__gte=0),
                                   name="poolpayout_amounts_non_negative"),
        ]

    def __str__(self) -> str:
        return f"payout {self.position_id} {self.date}"


class PoolIlAlert(models.Model):
    """One day's impermanent-loss alert for one pool product: unique per (product, date), so the daily job
    alerts once per product per day however often it runs. Holders and staff are notified with keys derived
    from the same pair (`il-alert:<product>:<date>`)."""

    product = models.ForeignKey("earn.Product", on_delete=models.PROTECT, related_name="il_alerts")
    date = models.DateField()
    threshold = MoneyField(help_text=_("the product's threshold that day (0.05 = 5 %)"))
    worst_il = MoneyField(help_text=_("the largest loss against holding among the holders (a negative fraction)"))
    positions = models.PositiveIntegerField(help_text=_("positions past the threshold"))
    holders = models.PositiveIntegerField(help_text=_("customers notified"))
    price_a_usd = MoneyField()
    price_b_usd = MoneyField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-date", "product_id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "date"], name="poolilalert_product_date_unique"),
            models.CheckConstraint(condition=Q(threshold__gt=0, threshold__lt=1), name="poolilalert_threshold_range"),
            models.CheckConstraint(condition=Q(worst_il__lte=-F("threshold"), worst_il__gte=-1),
                                   name="poolilalert_past_threshold"),
            models.CheckConstraint(condition=Q(positions__gt=0, holders__gt=0, holders__lte=F("positions")),
                                   name="poolilalert_counts_valid"),
        ]

    def __str__(self) -> str:
        return f"IL alert {self.product_id} {self.date}: {self.worst_il}"
