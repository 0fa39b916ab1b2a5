from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pools"
    verbose_name = _("Liquidity pools")

    def ready(self) -> None:
        from compliance import gate
        from compliance.catalogue import register_disclosure_extra
        from earn.extensions import register_exposure_source, register_strategy
        from earn.models import Strategy
        from pools import reconcile
        from pools.api import disclosure_il_table
        from pools.selectors import (
            open_pool_positions_in_category,
            pool_holdings_by_product,
            pool_summaries_bulk,
            user_holds_pool_product,
            user_pool_holdings,
        )
        from pools.services.deposits import pool_subscribe

        reconcile.register()
        from core.partitions import register_retention_guard
        from pools.retention import acknowledgements_month_guard

        register_retention_guard("compliance_acknowledgement", acknowledgements_month_guard)
        from core.refusals import register as register_refusals
        from pools.refusals import REFUSALS

        register_refusals(REFUSALS)
        # Pool shares count towards the exposure limit at what they would return now.
        if user_pool_holdings not in gate.HOLDINGS_SOURCES:
            gate.HOLDINGS_SOURCES.append(user_pool_holdings)
        # Liquidity-mining products subscribe, list and stay visible through the pools app.
        register_strategy(Strategy.LIQUIDITY_MINING, subscribe=pool_subscribe,
                          catalogue_summaries=pool_summaries_bulk, holds=user_holds_pool_product,
                          open_positions=open_pool_positions_in_category)
        register_disclosure_extra(disclosure_il_table)
        # The venue exposure page values each pool's reserves beside earn's outstanding principal.
        register_exposure_source(pool_holdings_by_product)
