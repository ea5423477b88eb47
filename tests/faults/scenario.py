"""One fault scenario: deals paid by several clients, the fault done while they are, then beat's
janitor run until nothing is open, and every invariant checked. Its figures are returned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.faults.chaos import supervise
from tests.faults.invariants import check, settle
from tests.faults.load import Load, fresh_phone
from tests.helpers import register, wait_until
from tests.stack import Stack

DEALS = 50


def under_load(stack: Stack, fault: Callable[[Load], dict[str, Any]], deals: int = DEALS,
               phone: Callable[[int], str] = lambda _: fresh_phone(), beats: int = 1,
               allowed_flags: frozenset[str] = frozenset(),
               settle_timeout: float = 90.0, open_first: bool = False) -> dict[str, Any]:
    """``deals`` deals opened and paid by six clients (with ``open_first``, all opened before
    any is paid); ``fault`` runs once a quarter of them are paid, while the rest go on. Then
    the janitor (``beats`` copies of each round) settles everything, and the invariants are
    checked over the whole database."""
    seller = register(stack, "seller")
    buyers = [register(stack, "buyer") for _ in range(4)]
    since = datetime.now(UTC)
    load = Load(stack, buyers, seller, deals, phone=phone, open_first=open_first).start()
    wait_until(lambda: load.paid() >= deals // 4, timeout=60, what="the load to be under way")
    revived: list[str] = []
    try:
        injected = fault(load)
        load.wait()
        rounds = settle(stack, timeout=settle_timeout, beats=beats,
                        each_round=lambda: revived.extend(supervise(stack)))
        outcomes = check(stack, since, allowed_flags)
    except AssertionError as failed:  # what the processes said is the first thing one wants
        logs = "\n".join(f"--- {name}\n{stack.tail(name, 30)}" for name in stack.processes
                         if name.startswith(("api", "worker")))
        raise AssertionError(f"{failed}\n{logs}") from None
    figures = {"fault": injected, "load": load.figures(), "janitor rounds": rounds,
               "outcomes": outcomes}
    if revived:
        figures["workers that died and were started again"] = revived
    return figures
