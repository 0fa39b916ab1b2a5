"""Row locks in the service-wide orders.

Money paths (subscriptions, redemptions, settlement, the accrual's compounding): position rows, then
ledger accounts by ascending id, then the product row LAST, by the UPDATE of its `sold_amount` (the
conditional one that reserves a cap, or a release) just before commit. So the row every request for
a product meets is held only for the end of each transaction, and nothing waits while holding it.

Product administration (terms, disclosures, curation, pools): `product_lock` first, then the
product's children (terms versions, disclosures, the pool), never positions or ledger accounts.

Launch mode (earn.services.launch) adds one lock before these: a launch's commit barrier, an advisory
lock keyed by the product, taken shared by each commitment (which then locks only the customer's ledger
accounts, never the product row) and exclusive by the allocation's close step (which takes nothing else).
The allocation's settle batches take the product row first, then the launch run, positions and accounts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from core.errors import NotFound
from earn.models import Position, Product

if TYPE_CHECKING:
    from accounts.models import User


def product_lock(product_id: int) -> Product:
    """SELECT … FOR UPDATE the product row (only that row, not joined ones)."""
    product = Product.objects.select_for_update(of=("self",)).filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."), field="product")
    return product


def position_lock(position_id: int, *, user: User | None = None) -> Position:
    """Lock the position row only (its product, asset, terms and owner joined, not locked); `user`
    restricts to the owner's positions. Whoever then changes the product's `sold_amount` does it as
    the transaction's last write (the lock order above)."""
    query = Position.objects.select_for_update(of=("self",)).select_related("product__asset", "terms", "user")
    if user is not None:
        query = query.filter(user=user)
    position = query.filter(pk=position_id).first()
    if position is None:
        raise NotFound(_("No such position."), field="position")
    return position
