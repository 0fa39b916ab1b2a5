"""The product catalogue as compliance needs it, provided by earn (and pools) from their AppConfig.ready.

Compliance sits below earn: earn's subscriptions call the gate, so compliance must not import earn back.
Its models name the product by string ("earn.Product"), its rules read a product's plain fields
(`strategy`, `term_type`, `status`, and `category` for the sections a disclosure needs), and the few
catalogue reads it needs come through this port.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CLOSED = "closed"
"""A product's status once it is wound down (earn's ProductStatus.CLOSED): it gets no new disclosure."""


@dataclass
class Catalogue:
    visible_product: Callable[..., Any]
    """(product_id=, user=) -> the product if this customer may see it (published, or one they hold), else None."""
    live_products: Callable[[], list[Any]]
    """Products open to subscription, by id."""
    product_lock: Callable[[int], Any]
    """Lock a product row in the service-wide lock order (product first); NotFound if there is none."""
    own_position_product: Callable[[int, Any], int | None]
    """(position id, user) -> the product id of the customer's own position, or None."""
    products_in_category: Callable[[str], list[Any]]
    """Products of one category customers can subscribe to now (live), by id: a category rule's preview."""
    open_positions_in_category: Callable[[str, Any], dict[str, int]]
    """(category, users queryset) -> {"positions", "customers"}: their open positions (earn and pool) in
    products of that category, and how many of them hold one."""


_catalogue: Catalogue | None = None
_disclosure_extras: list[Callable[[Any, Any], dict[str, Any]]] = []


def register(catalogue: Catalogue) -> None:
    global _catalogue
    _catalogue = catalogue


def catalogue() -> Catalogue:
    if _catalogue is None:  # pragma: no cover - earn is an installed app; this only fires in a broken setup
        raise RuntimeError("The earn app has not registered the product catalogue.")
    return _catalogue


def register_disclosure_extra(extra: Callable[[Any, Any], dict[str, Any]]) -> None:
    """`extra(product, query_params) -> {field: value}` added to a product's disclosure (e.g. a pool's IL table)."""
    if extra not in _disclosure_extras:
        _disclosure_extras.append(extra)


def disclosure_extras(product: Any, query_params: Any) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for extra in _disclosure_extras:
        extras.update(extra(product, query_params))
    return extras
