"""What apps above earn plug into it, registered from their `AppConfig.ready` (earn never imports them).

A strategy whose money does not sit in an earn position (liquidity mining: pool shares) registers:
- a subscribe handler, so `POST /api/v1/subscriptions` and the portal route its product there;
- a catalogue summary, the extra facts shown beside its products (the catalogue's `pool`);
- a holdings check, so a customer still sees a closed product they hold through that strategy;
- optionally, its open positions by product category (a category rule's preview counts them).

Any app holding customers' assets outside earn positions also registers an exposure source
(`register_exposure_source`): {product id: {asset: amount held now}}, which the venue exposure page values.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

SubscribeHandler = Callable[..., tuple[int, Any, bool]]
"""(user=, product_id=, amount=, idempotency_key=) -> (status, body, replayed), like `subscription_submit`."""

SUBSCRIBE_HANDLERS: dict[str, SubscribeHandler] = {}
CATALOGUE_SUMMARIES: dict[str, Callable[[list[int]], dict[int, Any]]] = {}
HOLDINGS_CHECKS: list[Callable[[Any, Any], bool]] = []
OPEN_POSITION_SOURCES: list[Callable[[str, Any], Any]] = []
"""(category, users queryset) -> a `values_list("user_id")` queryset, one row per open position the strategy
holds for those users in products of that category."""
ExposureSource = Callable[[], dict[int, dict[str, Decimal]]]
EXPOSURE_SOURCES: list[ExposureSource] = []


def register_strategy(strategy: str, *, subscribe: SubscribeHandler,
                      catalogue_summaries: Callable[[list[int]], dict[int, Any]],
                      holds: Callable[[Any, Any], bool],
                      open_positions: Callable[[str, Any], Any] | None = None) -> None:
    """Idempotent: registering the same strategy again replaces its entries."""
    SUBSCRIBE_HANDLERS[strategy] = subscribe
    CATALOGUE_SUMMARIES[strategy] = catalogue_summaries
    if holds not in HOLDINGS_CHECKS:
        HOLDINGS_CHECKS.append(holds)
    if open_positions is not None and open_positions not in OPEN_POSITION_SOURCES:
        OPEN_POSITION_SOURCES.append(open_positions)


def register_exposure_source(source: ExposureSource) -> None:
    """Idempotent: {product id: {asset code: amount}} of customers' assets a higher app holds per product,
    read in a constant number of queries (the exposure page must not grow with the number of products)."""
    if source not in EXPOSURE_SOURCES:
        EXPOSURE_SOURCES.append(source)
