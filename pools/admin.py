"""Pools in the admin console: read-only (reserves and shares change only through the services)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from pools.models import Pool, PoolDay, PoolDeposit, PoolPosition, PoolRebalance, PoolWithdrawal


@admin.register(Pool)
class PoolAdmin(ReadOnlyAdmin):
    list_display = ("id", "product", "asset_a", "asset_b", "fee_rate", "fee_mode", "reserve_a", "reserve_b",
                    "total_shares", "reward_asset", "daily_emission", "daily_volume_usd")
    list_select_related = ("product",)


@admin.register(PoolPosition)
class PoolPositionAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "pool", "term_type", "status", "shares", "cost_a", "cost_b", "compound_rewards",
                    "value_date", "maturity_date")
    list_filter = ("status", "term_type", "pool")
    list_select_related = ("user", "pool")
    search_fields = ("user__email",)


@admin.register(PoolDeposit)
class PoolDepositAdmin(ReadOnlyAdmin):
    list_display = ("id", "position", "mode", "asset_in", "amount_a", "amount_b", "swap_fee", "shares", "value_usd",
                    "created_at")
    list_filter = ("mode",)


@admin.register(PoolWithdrawal)
class PoolWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "position", "shares", "amount_a", "amount_b", "value_usd", "hold_value_usd", "early",
                    "maturity", "created_at")


@admin.register(PoolRebalance)
class PoolRebalanceAdmin(ReadOnlyAdmin):
    list_display = ("id", "pool", "price_a_usd", "price_b_usd", "reserve_a_before", "reserve_a_after",
                    "reserve_b_before", "reserve_b_after", "created_at")


@admin.register(PoolDay)
class PoolDayAdmin(ReadOnlyAdmin):
    list_display = ("pool", "date", "fee_mode", "volume_usd", "fee_a", "fee_b", "reward", "reward_compounded",
                    "positions")
    list_filter = ("pool",)
    date_hierarchy = "date"
