"""What apps above earn plug into it, registered from their `AppConfig.ready` (earn never imports them).

A strategy whose money does not sit in an earn position (liquidity mining: pool shares) registers:
- a subscribe handler, so `POST /api/v1/subscriptions` and the portal route its product there;
- a catalogue summary, the extra facts shown beside its products (the catalogue's `pool`);
- a holdings check, so a customer still sees a closed product they hold through that strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SubscribeHandler = Callable[..., tuple[int, Any, bool]]
"""(user=, product_id=, amount=, idempotency_key=) -> (status, body, replayed), like `subscription_submit`."""

SUBSCRIBE_HANDLERS: dict[str, SubscribeHandler] = {}
CATALOGUE_SUMMARIES: dict[str, Callable[[list[int]], dict[int, Any]]] = {}
HOLDINGS_CHECKS: list[Callable[[Any, Any], bool]] = []


def register_strategy(strategy: str, *, subscribe: SubscribeHandler,
                      catalogue_summaries: Callable[[list[int]], dict[int, Any]],
                      holds: Callable[[Any, Any], bool]) -> None:
    """Idempotent: registering the same strategy again replaces its entries."""
    SUBSCRIBE_HANDLERS[strategy] = subscribe
    CATALOGUE_SUMMARIES[strategy] = catalogue_summaries
    if holds not in HOLDINGS_CHECKS:
        HOLDINGS_CHECKS.append(holds)
