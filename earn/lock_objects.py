"""Row locks in the service-wide order: product row, then position or version rows, then ledger
accounts by ascending id. Every writer that touches a product's counters or children takes the
product first, so two writers never wait on each other in opposite orders.

Launch mode (earn.services.launch) adds one lock before these: a launch's commit barrier, an advisory
lock keyed by the product, taken shared by each commitment (which then locks only the customer's ledger
accounts, never the product row) and exclusive by the allocation's close step (which takes nothing else).
The allocation's settle batches follow the order above: product, launch run, positions, accounts."""

from __future__ import annotations

from django.utils.translation import gettext as _

from core.errors import NotFound
from earn.models import Position, Product


def product_lock(product_id: int) -> Product:
    """SELECT … FOR UPDATE the product row (only that row, not joined ones)."""
    product = Product.objects.select_for_update(of=("self",)).filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."), field="product")
    return product


def position_lock(position_id: int, *, user: object | None = None) -> Position:
    """Lock the position's product, then the position; `user` restricts to the owner's positions."""
    query = Position.objects.filter(pk=position_id)
    if user is not None:
        query = query.filter(user=user)
    product_id = query.values_list("product_id", flat=True).first()
    if product_id is None:
        raise NotFound(_("No such position."), field="position")
    product_lock(product_id)
    return (Position.objects.select_for_update(of=("self",)).select_related("product__asset", "terms", "user")
            .get(pk=position_id))
