"""A small world for fuzzing: funded customer with positions, a staff user in every role, live products.

Shared by the bounded fuzz test (tests/api_fuzz) and the longer run (bench/fuzz_api.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.models import Group

from accounts import roles
from accounts.tokens import api_token_create
from earn.services.subscriptions import subscription_submit
from ledger.services import deposit_credit
from pools.services.deposits import pool_deposit_create
from tests.earn.factories import live_product
from tests.earn.helpers import acknowledge
from tests.factories import AssetFactory, UserFactory
from tests.pools.factories import pool_product

STANDARD_ASSETS = [("BTC", 8), ("ETH", 8), ("USDT", 8), ("USDC", 8), ("HKD", 2), ("USD", 2)]


@dataclass
class World:
    tokens: dict[str, str]  # identity -> API token
    ids: dict[str, list[int]] = field(default_factory=dict)  # path/body parameter name -> real ids
    pool_ids: dict[str, list[int]] = field(default_factory=dict)  # the same, for the /pool… endpoints

    def ids_for(self, path: str, name: str) -> list[int]:
        pool = "/pool" in path
        return (self.pool_ids.get(name) if pool else None) or self.ids.get(name, [])


def world_build() -> World:
    for code, scale in STANDARD_ASSETS:
        AssetFactory(code=code, scale=scale)
    # SG: a country without a jurisdiction rule, so the gate asks only for the acknowledgement.
    customer = UserFactory(email="fuzz-customer@example.com", country="SG")
    other = UserFactory(email="fuzz-other@example.com", country="SG")
    staff = UserFactory(email="fuzz-staff@earn.example", is_staff=True)
    staff.groups.add(*[Group.objects.get_or_create(name=role)[0] for role in roles.ROLES])
    demand = live_product("USDT", "demand", total_cap="1000000", min_amount="1")
    fixed = live_product("BTC", "fixed", min_amount="0.001")
    position_ids = []
    for user in (customer, other):
        deposit_credit(user_id=user.pk, asset="USDT", amount=Decimal("100000"), reference=f"fuzz-usdt-{user.pk}")
        deposit_credit(user_id=user.pk, asset="BTC", amount=Decimal("10"), reference=f"fuzz-btc-{user.pk}")
        for product, amount in ((demand, Decimal("500")), (fixed, Decimal("0.5"))):
            acknowledge(user, product)
            status, body, _replayed = subscription_submit(
                user=user, product_id=product.pk, amount=amount, auto_renew=False,
                idempotency_key=f"fuzz-{user.pk}-{product.pk}", render=lambda sub: {"position": sub.position_id})
            assert status == 201, body
            if user == customer:
                position_ids.append(body["position"])
    pool = pool_product()  # a liquidity-mining product (BTC/USDT) with its pool
    acknowledge(customer, pool.product)
    deposit = pool_deposit_create(user=customer, product_id=pool.product_id, amount=Decimal("0.01"))
    product_ids = [demand.pk, fixed.pk]
    return World(
        pool_ids={"product_id": [pool.product_id], "product": [pool.product_id], "position_id": [deposit.position_id]},
        tokens={"customer": api_token_create(user=customer)[1], "staff": api_token_create(user=staff)[1]},
        ids={"product_id": product_ids, "product": product_ids, "position_id": position_ids,
             "disclosure_id": [demand.disclosure.pk, fixed.disclosure.pk],  # type: ignore[attr-defined]
             "version": [1], "user": [customer.pk]},
    )
