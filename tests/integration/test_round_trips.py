"""Round trips to MongoDB and Redis per request on the hot paths, counted so they cannot creep
back: the API under load spends its time waiting on these, not computing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.connection
from flask.testing import FlaskClient
from pymongo import monitoring

from adapters.settings import Settings
from api import create_app
from tests.stack import Stack


@dataclass
class Counter(monitoring.CommandListener):
    """MongoDB commands and Redis round trips (a pipeline is one) made by one thread."""

    thread: int | None = None
    mongo: list[str] = field(default_factory=list)
    redis: list[str] = field(default_factory=list)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if threading.get_ident() == self.thread:
            self.mongo.append(f"{event.command_name} {event.command.get(event.command_name)}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Counted when started."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Counted when started."""


PHONE = "254708374149"
COUNTER = Counter()
monitoring.register(COUNTER)  # only clients made after this report to it: the app's below


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter]:
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        if threading.get_ident() == COUNTER.thread:
            first = command[0] if isinstance(command, list) else command
            COUNTER.redis.append(bytes(first)[:60].decode(errors="replace"))
        send(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    yield COUNTER
    COUNTER.thread = None


@pytest.fixture
def client(stack: Stack) -> FlaskClient:
    settings = Settings(
        redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
        mongo_db=stack.scratch_db("trips"), ratelimit_enabled=False,
        socketio_channel=f"trips-{uuid.uuid4().hex[:6]}",
    )
    return create_app(settings).test_client()


def _user(client: FlaskClient, role: str) -> tuple[dict[str, str], str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    answer = client.post("/api/auth/register", json={
        "email": email, "password": "a long enough password", "firstName": role.title(),
        "lastName": "Tester", "role": role})
    assert answer.status_code == 201, answer.json
    return {"Authorization": f"Bearer {answer.json['data']['accessToken']}"}, email


def _count(counter: Counter, call: Any) -> Any:
    counter.mongo.clear()
    counter.redis.clear()
    counter.thread = threading.get_ident()  # the test client runs the view in this thread
    try:
        return call()
    finally:
        counter.thread = None


def test_paying_for_a_deal_takes_few_round_trips(client: FlaskClient, counted: Counter) -> None:
    buyer, _ = _user(client, "buyer")
    _, seller_email = _user(client, "seller")
    terms = {"title": "Used phone", "description": "A Nokia", "amount": 1500,
             "sellerEmail": seller_email}
    warm_up = client.post("/api/transactions", headers=buyer, json=terms).json["data"]

    def paying() -> Any:
        return client.post(f"/api/transactions/{deal['id']}/pay", json={"phone": PHONE},
                           headers={**buyer, "Idempotency-Key": uuid.uuid4().hex})

    deal = warm_up  # the first request of a process opens its connections: not counted
    assert paying().status_code == 202
    deal = client.post("/api/transactions", headers=buyer, json=terms).json["data"]
    answer = _count(counted, paying)
    assert answer.status_code == 202, answer.json
    # The deal and its payments (none may have succeeded), then three writes: the payment, the
    # deal's compare-and-set, its event. (The identity comes from Redis; a replay is looked up
    # only when the insert collides.)
    assert counted.mongo == ["find deals", "find payments", "insert payments",
                             "findAndModify deals", "insert deal_events"], counted.mongo
    # The revocation check, the cached identity, the enqueue, one event for both parties.
    assert len(counted.redis) == 4, counted.redis


def test_reading_a_deal_takes_two_queries(client: FlaskClient, counted: Counter) -> None:
    buyer, _ = _user(client, "buyer")
    _, seller_email = _user(client, "seller")
    deal = client.post("/api/transactions", headers=buyer, json={
        "title": "Used phone", "description": "A Nokia", "amount": 900,
        "sellerEmail": seller_email}).json["data"]
    assert client.get(f"/api/transactions/{deal['id']}", headers=buyer).status_code == 200
    answer = _count(counted, lambda: client.get(f"/api/transactions/{deal['id']}",
                                                headers=buyer))
    assert answer.status_code == 200, answer.json
    assert counted.mongo == ["find deals", "find deal_events"], counted.mongo  # and its timeline
    assert len(counted.redis) == 2, counted.redis  # the revocation check, the identity
