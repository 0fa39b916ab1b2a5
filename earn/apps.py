from django.apps import AppConfig


class EarnConfig(AppConfig):
    name = "earn"

    def ready(self) -> None:
        from core.refusals import register
        from earn.refusals import REFUSALS

        register(REFUSALS)
        from earn import reconcile

        reconcile.register()
        from core.partitions import register_retention_guard
        from earn.retention import accruals_month_guard, acknowledgements_month_guard

        register_retention_guard("earn_accrual", accruals_month_guard)
        register_retention_guard("compliance_acknowledgement", acknowledgements_month_guard)
        from compliance.catalogue import Catalogue
        from compliance.catalogue import register as register_catalogue
        from earn.lock_objects import product_lock
        from earn.selectors.products import (
            catalogue_product,
            live_products,
            open_positions_in_category,
            own_position_product,
            products_in_category,
        )

        # Compliance rules over earn's products without importing earn (it sits below: see compliance/catalogue.py).
        register_catalogue(Catalogue(visible_product=catalogue_product, live_products=live_products,
                                     product_lock=product_lock, own_position_product=own_position_product,
                                     products_in_category=products_in_category,
                                     open_positions_in_category=open_positions_in_category))
