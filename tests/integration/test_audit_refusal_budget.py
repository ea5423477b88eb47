"""The refusal budget is per client address: one source flooding refusals does not silence
the audit of another's (in process on the real stores; the budget itself with a fake clock)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from flask import Flask

from adapters.settings import Settings
from api import create_app
from api.audit import REFUSAL_BURST, RefusalBudget
from tests.helpers import database
from tests.stack import Stack


@pytest.fixture(scope="module")
def app(stack: Stack) -> Flask:
    name = stack.scratch_db("budget")
    return create_app(Settings(redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
                               mongo_db=name, mpesa_callback_token="the-right-token",
                               socketio_channel=f"b-{name}"))


def _address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}"


def test_one_source_flooding_does_not_silence_anothers_refusals(app: Flask,
                                                                 stack: Stack) -> None:
    client, db = app.test_client(), database(stack).client[app.extensions["escrow"].settings
                                                             .mongo_db]
    flooder = _address()
    other = next(a for a in iter(_address, None) if a != flooder)
    agent = f"flood/{uuid.uuid4().hex[:8]}"
    flood = REFUSAL_BURST * 5
    for n in range(flood):  # a wrong callback token: answered 404, never rate limited
        assert client.post(f"/api/mpesa/stk/callback/guess-{n}", json={},
                           headers={"User-Agent": agent},
                           environ_base={"REMOTE_ADDR": flooder}).status_code == 404
    flooded = db.audit.count_documents({"userAgent": agent, "ip": flooder})
    assert REFUSAL_BURST <= flooded < flood, flooded  # the flooder went over its budget
    request_ids = [f"other-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for rid in request_ids:  # right after the flood, from elsewhere
        assert client.get("/api/wallet", headers={"X-Request-ID": rid},
                          environ_base={"REMOTE_ADDR": other}).status_code == 401
    recorded = {r["requestId"]: r for r in db.audit.find({"requestId": {"$in": request_ids}})}
    assert sorted(recorded) == sorted(request_ids)
    assert {(r["ip"], r["status"], r["outcome"]) for r in recorded.values()} == {
        (other, 401, "refused")}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _reports(caplog: pytest.LogCaptureFixture) -> list[Any]:
    return [r for r in caplog.records if "over the budget" in r.getMessage()]


def test_each_source_has_its_own_bucket_and_what_is_dropped_is_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    budget = RefusalBudget(rate=1.0, burst=2, max_sources=10, clock=clock)
    with caplog.at_level(logging.WARNING, logger="api.audit"):
        assert [budget.take("a") for _ in range(3)] == [True, True, False]
        assert [budget.take("b") for _ in range(2)] == [True, True]  # a's flood: not b's budget
        assert budget.take("a") is False and budget.take("b") is False
        clock.now += 1.1  # over a second after the first report: the next drop is reported
        assert [budget.take("a"), budget.take("a")] == [True, False]
    first, second = _reports(caplog)
    assert (first.skipped, first.sources) == (1, 1)  # a's first drop, reported at once
    assert (second.skipped, second.sources) == (3, 2)  # a twice and b once since then


def test_the_buckets_are_bounded_and_a_forgotten_source_starts_afresh() -> None:
    clock = Clock()
    budget = RefusalBudget(rate=1.0, burst=1, max_sources=3, clock=clock)
    assert [budget.take(s) for s in ("a", "b", "c")] == [True, True, True]
    assert budget.take("a") is False  # a is now the most recently seen
    assert budget.take("d") is True  # b, the least recently seen, is forgotten
    assert budget.sources == 3
    assert budget.take("b") is True  # a new bucket, full: c is forgotten
    assert budget.take("a") is False  # a's bucket was kept


def test_all_sources_together_stay_under_an_overall_ceiling() -> None:
    """Many addresses (or one rotating through them) still make a bounded rate of inserts."""
    clock = Clock()
    budget = RefusalBudget(rate=1.0, burst=2, max_sources=1000, total_rate=5.0, total_burst=5,
                           clock=clock)
    taken = [budget.take(f"10.0.0.{n}") for n in range(20)]
    assert taken.count(True) == 5
    clock.now += 1.0
    assert [budget.take(f"10.0.1.{n}") for n in range(10)].count(True) == 5
