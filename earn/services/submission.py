"""Submitting a money request whose refusals are recorded (subscriptions, launch commitments)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compliance.models import Refusal
from compliance.services.acknowledgements import refusal_record
from core.errors import ApplicationError
from core.idempotency import IdempotentRequest
from core.money import to_decimal_or_none
from earn import errors


def submit_recording_refusals(*, user: Any, product_id: int, amount: Any, request: IdempotentRequest,
                              check: Callable[[], object], action: Callable[[], tuple[int, Any]] | None = None,
                              claiming: Callable[[tuple[str, list[Any]]], tuple[int, Any, int] | None] | None = None,
                              announce: Callable[[Refusal], object] | None = None) -> tuple[int, Any, bool]:
    """Run `action` in the key's transaction (`request.run`) unless `check` refuses first; record every refusal.
    (`claiming` instead of `action`: an action whose first statement claims the key, `request.run_claiming`.)

    `check` decides, on what was read before any transaction, what it can: it raises SubscriptionRefused for a
    refusal (most of a full product's traffic). That refusal is recorded by one statement that claims the key too
    (compliance.services.acknowledgements.refusal_record): no transaction block, no rollback; and when the key
    already holds an answer nothing is recorded and that answer is replayed. Any other error `check` raises is
    left to `action`, which answers it under the key (a replay first). A refusal `action` raises (what only the
    locks decide: a cap filled meanwhile, the balance) rolls its transaction back and is recorded after it.
    `announce` gets each recorded refusal (the customer's notification)."""
    early = False
    try:
        try:
            check()
        except errors.SubscriptionRefused:
            early = True
            raise
        except ApplicationError:
            pass
        if claiming is not None:
            return request.run_claiming(claiming)
        assert action is not None
        return request.run(action)
    except errors.SubscriptionRefused as exc:
        refusal = refusal_record(user=user, product_id=product_id, amount=to_decimal_or_none(amount), codes=exc.codes,
                                 detail=exc.message, claim=request if early else None)
        if refusal is None:  # the key holds an answer: a retry of a request that was answered, replayed
            return request.replay()
        if announce is not None:
            announce(refusal)
        raise
