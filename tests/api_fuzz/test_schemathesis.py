"""Every operation of the OpenAPI schema, as a customer and as staff: no 5xx, answers match the schema."""

from __future__ import annotations

import pytest

from tests.api_fuzz.conftest import CURRENT, api_schema
from tests.api_fuzz.world import World

schema = api_schema()


def steer_to_real_ids(case, world: World) -> None:  # type: ignore[no-untyped-def]
    """Half of the generated ids (the even ones) become ids that exist, so fuzzing gets past the 404."""
    for params in (case.path_parameters, case.body if isinstance(case.body, dict) else None):
        if not params:
            continue
        for name, value in list(params.items()):
            real = world.ids_for(case.path, name)
            if real and isinstance(value, int) and not isinstance(value, bool) and value % 2 == 0:
                params[name] = real[value // 2 % len(real)]


def call_as(case, world: World, identity: str) -> None:  # type: ignore[no-untyped-def]
    steer_to_real_ids(case, world)
    CURRENT["identity"] = identity
    case.call_and_validate(headers={"Authorization": f"Token {world.tokens[identity]}"})


@pytest.mark.django_db
@schema.parametrize()
def test_api_fuzz_as_customer(case, world):
    call_as(case, world, "customer")


@pytest.mark.django_db
@schema.parametrize()
def test_api_fuzz_as_staff(case, world):
    call_as(case, world, "staff")
