"""Scripted runs of the simulated world: the reproduction of a bug that random seeds reach
too rarely to keep one as its regression test."""

from __future__ import annotations

import json
from datetime import timedelta

from domain.payments import Payment, PaymentStatus
from domain.services import deals, payments
from domain.services.deals import DealTerms
from tests.unit.simulation.model import Delivery, Rates, stk_body
from tests.unit.simulation.world import Crash, SimWorld


def _quiet_world() -> SimWorld:
    world = SimWorld(0)
    world.mpesa.rates = Rates.none()
    world.tasks.lose_rate = 0
    world.faults.crash_rate = 0
    world.start()
    return world


def _run_ready(world: SimWorld, name: str | None = None) -> None:
    for _ in range(100):
        ready = [t for t in world.tasks.ready() if name in (None, t.name)]
        if not ready:
            return
        world.run_task(world.tasks.take(min(ready, key=lambda t: t.seq)))


def _payment(world: SimWorld, payment_id: str) -> Payment:
    found = world.payments.get(payment_id)
    assert found is not None
    return found


def push_sent_then_not_payable() -> SimWorld:
    """Payment 1 is paid, but STK Query lags past the whole schedule: it is closed UNRESOLVED.
    The buyer pays again; payment 2's worker dies after M-Pesa accepted its push, before the
    answer is saved. Payment 1's callback comes again once STK Query confirms it: a late
    credit funds the deal. Then payment 2's task is redelivered."""
    world = _quiet_world()
    buyer, seller = world.buyers[0], world.sellers[0]
    phone = world.phones[buyer.id]
    deal = deals.open_deal(world.ctx, buyer.id, DealTerms("Phone", "A used phone", 250,
                                                          seller_id=seller.id))
    world.mpesa.stories[:] = ["paid-lagging", "paid"]
    first = payments.request_payment(world.ctx, buyer, deal.id, phone, "k1", "h1")
    _run_ready(world, "stk_push")
    world.mpesa.outbox.clear()  # its callbacks came while STK Query still said pending
    for _ in range(200):
        if not _payment(world, first.id).is_open:
            break
        world.clock.advance(seconds=60)
        world.sweep("reconcile_payments")
        _run_ready(world)
    assert _payment(world, first.id).result_code == "UNRESOLVED"
    world.say("payment 1 closed UNRESOLVED; the buyer pays again")

    second = payments.request_payment(world.ctx, buyer, deal.id, phone, "k2", "h2")

    def die(what: str) -> None:
        raise Crash(f"before {what}")

    world.faults.interleave = (world.faults.writes + 2, die)  # the write after the push
    _run_ready(world, "stk_push")
    assert world.mpesa.push_of(second.id), "payment 2's push went out"
    assert _payment(world, second.id).status is PaymentStatus.QUEUED

    push = world.mpesa.push_of(first.id)[0]
    assert push.visible_at is not None
    world.clock.set(push.visible_at + timedelta(seconds=5))
    late = Delivery(world.clock.now(), "stk", json.dumps(stk_body(push)),
                    "payment 1's callback, again", subject=first.id)
    world.mpesa.deliver_at(late)
    world.receive(late)
    _run_ready(world, "callback")
    world.say(f"deal {deal.id} is now {world.deals.rows[deal.id].status.value}")
    _run_ready(world, "stk_push")  # payment 2's task, redelivered
    return world
