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

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound
from core.rows import RowShape, is_bigint, prepared_cursor
from earn.models import Position, Product, ProductTerms
from ledger.models import Asset


def product_lock(product_id: int) -> Product:
    """SELECT … FOR UPDATE the product row (only that row, not joined ones)."""
    product = Product.objects.select_for_update(of=("self",)).filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product."), field="product")
    return product


_POSITION = RowShape(Position, "pos")
_PRODUCT = RowShape(Product, "p")
_ASSET = RowShape(Asset, "a")
_TERMS = RowShape(ProductTerms, "t")
_OWNER = RowShape(User, "u")
# A position with its product, asset, own terms and owner: the columns `position_from_row` reads, first in a SELECT.
POSITION_ROW_COLUMNS = f"{_POSITION.columns}, {_PRODUCT.columns}, {_ASSET.columns}, {_TERMS.columns}, {_OWNER.columns}"
POSITION_ROW_FROM = f"""
      "earn_position" pos
      JOIN "earn_product" p ON p.id = pos.product_id
      JOIN "ledger_asset" a ON a.code = p.asset_id
      JOIN "earn_productterms" t ON t.id = pos.terms_id
      JOIN "{_OWNER.model._meta.db_table}" u ON u.id = pos.user_id"""
POSITION_ROW_WIDTH = _POSITION.width + _PRODUCT.width + _ASSET.width + _TERMS.width + _OWNER.width
_POSITION_LOCK_SQL = f"""SELECT {POSITION_ROW_COLUMNS} FROM {POSITION_ROW_FROM}
     WHERE pos.id = %s AND (%s::bigint IS NULL OR pos.user_id = %s)
       FOR UPDATE OF pos"""


def position_lock(position_id: int, *, user: User | None = None) -> Position:
    """Lock the position row only (its product, asset, terms and owner joined, not locked); `user`
    restricts to the owner's positions. Whoever then changes the product's `sold_amount` does it as
    the transaction's last write (the lock order above). One hand-written statement (core.rows),
    prepared: the redemption path takes it on every request, and none of its tables has months."""
    row = None
    if is_bigint(position_id):
        owner = None if user is None else user.pk
        with prepared_cursor() as cursor:
            cursor.execute(_POSITION_LOCK_SQL, [position_id, owner, owner])
            row = cursor.fetchone()
    if row is None:
        raise NotFound(_("No such position."), field="position")
    return position_from_row(row)


def position_from_row(row: Sequence[Any]) -> Position:
    """The position from a row's first POSITION_ROW_WIDTH values (POSITION_ROW_COLUMNS), its related rows attached."""
    at = 0
    position = _POSITION.instance(row)
    at += _POSITION.width
    product = _PRODUCT.instance(row, at)
    at += _PRODUCT.width
    product.asset = _ASSET.instance(row, at)
    at += _ASSET.width
    position.terms = _TERMS.instance(row, at)
    position.user = _OWNER.instance(row, at + _TERMS.width)
    position.product = product
    if position.asset_id == product.asset_id:  # always: a position is in its product's asset
        position.asset = product.asset
    return position
