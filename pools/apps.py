from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolsConfig(AppConfig):
    name = "pools"
    verbose_name = _("Liquidity pools")

    def ready(self) -> None:
        from compliance import gate
        from pools import reconcile
        from pools.selectors import user_pool_holdings

        reconcile.register()
        # Pool shares count towards the exposure limit at what they would return now.
        sources = getattr(gate, "HOLDINGS_SOURCES", None)
        if sources is not None and user_pool_holdings not in sources:
            sources.append(user_pool_holdings)
