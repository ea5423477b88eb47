"""Someone else's object answers exactly as one that does not exist: the error says nothing more."""

from __future__ import annotations

import pytest

from domain.errors import NotFound
from domain.services import payments
from tests.unit.world import World


def _refusal(call: object) -> tuple[str, str, dict[str, object]]:
    with pytest.raises(NotFound) as refused:
        call()  # type: ignore[operator]
    return refused.value.code, refused.value.message, refused.value.details


def test_a_payment_of_someone_elses_deal_reads_as_a_payment_that_does_not_exist() -> None:
    world = World.build()
    _, payment = world.pending_payment()
    stranger = world.register("x@example.com")
    theirs = _refusal(lambda: payments.visible_payment(world.ctx, stranger, payment.id))
    missing = _refusal(lambda: payments.visible_payment(world.ctx, stranger, "no-such-payment"))
    assert theirs == missing
