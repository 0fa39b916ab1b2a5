"""The compliance gate: for a user and a product, the reason codes that block a subscription.

Each rule is a small function returning a code or None; `RULES` is the one list the gate
runs, in order. The compliance issue adds its rules (assessment, exposure, cooling-off) here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from compliance import errors
from compliance.models import Acknowledgement, Disclosure, DisclosureStatus


@dataclass
class GateContext:
    """What the rules need, loaded once per (user, products) so the gate costs a fixed number of queries."""

    user: Any
    current_disclosure: dict[int, int | None] = field(default_factory=dict)  # product id -> disclosure id
    latest_ack_disclosure: dict[int, int | None] = field(default_factory=dict)  # product id -> acked disclosure

    @classmethod
    def load(cls, user: Any, product_ids: Sequence[int]) -> GateContext:
        ctx = cls(user=user)
        current = dict(Disclosure.objects.filter(product_id__in=product_ids, status=DisclosureStatus.CURRENT)
                       .values_list("product_id", "id"))
        acks = (Acknowledgement.objects.filter(user=user, product_id__in=product_ids)
                .order_by("product_id", "-accepted_at", "-id").distinct("product_id")
                .values_list("product_id", "disclosure_id"))
        latest = dict(acks)
        for pid in product_ids:
            ctx.current_disclosure[pid] = current.get(pid)
            ctx.latest_ack_disclosure[pid] = latest.get(pid)
        return ctx


Rule = Callable[[GateContext, Any], str | None]


def rule_jurisdiction(ctx: GateContext, product: Any) -> str | None:
    restricted = {c.upper() for c in settings.EARN_RESTRICTED_COUNTRIES}
    return errors.JURISDICTION_RESTRICTED if (ctx.user.country or "").upper() in restricted else None


def rule_acknowledgement(ctx: GateContext, product: Any) -> str | None:
    acked = ctx.latest_ack_disclosure.get(product.pk)
    if acked is None:
        return errors.NO_ACK
    if acked != ctx.current_disclosure.get(product.pk):
        return errors.ACK_OUTDATED
    return None


RULES: list[Rule] = [rule_jurisdiction, rule_acknowledgement]


def blocking_codes(user: Any, product: Any, *, ctx: GateContext | None = None) -> list[str]:
    """Reason codes that stop `user` subscribing to `product` now; empty means allowed."""
    ctx = ctx or GateContext.load(user, [product.pk])
    return [code for rule in RULES if (code := rule(ctx, product)) is not None]


def blocking_codes_many(user: Any, products: Sequence[Any]) -> dict[int, list[str]]:
    ctx = GateContext.load(user, [p.pk for p in products])
    return {p.pk: blocking_codes(user, p, ctx=ctx) for p in products}
