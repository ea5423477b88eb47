"""Small clients for tests: the API over HTTP, Socket.IO, and waiting with a deadline."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import socketio
from pymongo import MongoClient
from pymongo.database import Database

from tests.stack import Stack

T = TypeVar("T")
PASSWORD = "correct horse battery"


def wait_until(probe: Callable[[], T | None], timeout: float = 15.0, every: float = 0.05,
               what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def database(stack: Stack) -> Database[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(stack.env["MONGO_URL"], tz_aware=True)
    return client[stack.env["MONGO_DB"]]


NX_27017, MONGODB = "nx-27017", "mongodb"


# Every collection a request can write: a refused one must leave each count as it was.
COLLECTIONS = ("users", "deals", "deal_events", "payments", "payouts", "postings",
               "notifications", "mpesa_callbacks", "audit")


def counts(stack: Stack) -> dict[str, int]:
    """How many documents each collection of COLLECTIONS holds."""
    db = database(stack)
    return {name: db[name].count_documents({}) for name in COLLECTIONS}


def refused(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``answer`` is the error envelope with ``status`` and ``code``; its details."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert answer.headers["X-Request-ID"]
    return body["error"]["details"]  # type: ignore[no-any-return]


def server_kind(db: Database[dict[str, Any]]) -> str:
    """Which server ``db`` is on, from its buildInfo: nx-27017 answers it with its serverStatus
    reply (``"process": "nx_27017"``, no ``gitVersion``); MongoDB with its build (``version``,
    ``gitVersion``, no ``process``). Anything else fails: the "differs" tests of
    tests/integration/test_mongo_compat.py know only these two."""
    info = db.command("buildInfo")
    if info.get("process") == "nx_27017":
        return NX_27017
    if "gitVersion" in info and "process" not in info:
        return MONGODB
    raise AssertionError(f"neither nx-27017 nor MongoDB answered buildInfo: {sorted(info)}")


@dataclass
class Api:
    base: str
    token: str | None = None
    user: dict[str, Any] = field(default_factory=dict)
    refresh: str | None = None

    def call(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        all_headers = dict(headers or {})
        if self.token and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {self.token}"
        return requests.request(method, self.base + path, json=json, headers=all_headers,
                                timeout=15, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, json=json, **kwargs)

    def data(self, method: str, path: str, json: Any = None, expect: int = 200,
             **kwargs: Any) -> Any:
        response = self.call(method, path, json=json, **kwargs)
        assert response.status_code == expect, (response.status_code, response.text)
        return response.json()["data"]


def register(stack: Stack, role: str, phone: str | None = None) -> Api:
    api = Api(stack.api)
    body = {"email": f"{role}-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD,
            "firstName": role.title(), "lastName": "Tester", "role": role}
    if phone:
        body["phone"] = phone
    data = api.data("POST", "/api/auth/register", body, expect=201)
    api.token, api.refresh, api.user = data["accessToken"], data["refreshToken"], data["user"]
    api.user["email"] = body["email"]
    return api


def open_deal(buyer: Api, seller: Api, amount: int = 1500, **extra: Any) -> dict[str, Any]:
    body = {"title": "Used phone", "description": "A Nokia in good condition", "amount": amount,
            "sellerEmail": seller.user["email"], **extra}
    return buyer.data("POST", "/api/transactions", body, expect=201)  # type: ignore[no-any-return]


def pay(buyer: Api, deal_id: str, phone: str, key: str | None = None) -> requests.Response:
    return buyer.post(f"/api/transactions/{deal_id}/pay", {"phone": phone},
                      headers={"Idempotency-Key": key or uuid.uuid4().hex})


def wait_for_payment(api: Api, payment_id: str, status: str, timeout: float = 20.0) -> Any:
    def probe() -> Any:
        payment = api.data("GET", f"/api/payments/{payment_id}")
        return payment if payment["status"] == status else None

    return wait_until(probe, timeout, 0.1, f"payment {payment_id} to be {status}")


class Listener:
    """A real Socket.IO client that records every event it receives."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record)

    def _record(self, event: str, data: Any = None) -> None:
        with self._lock:
            self.events.append((event, data))

    def connect(self, stack: Stack, token: str | None) -> None:
        self.client.connect(stack.api, auth={"token": token} if token else None,
                            transports=["websocket"], wait_timeout=10)

    def seen(self, event: str, match: Callable[[Any], bool]) -> list[Any]:
        with self._lock:
            return [data for name, data in self.events if name == event and match(data)]

    def close(self) -> None:
        self.client.disconnect()


def listen(stack: Stack, token: str) -> Listener:
    listener = Listener()
    listener.connect(stack, token)
    return listener


def funded_deal(stack: Stack, buyer: Api, seller: Api, amount: int = 1500,
                **extra: Any) -> dict[str, Any]:
    """A deal paid by the sandbox's good test phone and confirmed active."""
    deal = open_deal(buyer, seller, amount=amount, **extra)
    payment = pay(buyer, deal["id"], "254708374149").json()["data"]
    wait_for_payment(buyer, payment["id"], "success")

    def active() -> dict[str, Any] | None:
        current: dict[str, Any] = buyer.data("GET", f"/api/transactions/{deal['id']}")
        return current if current["status"] == "active" else None

    return wait_until(active, what="the deal to be active")


def make_admin(stack: Stack) -> Api:
    """An admin made the way operators do it: the CLI, then a normal login."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.stack import ROOT

    email, password = f"ops-{uuid.uuid4().hex[:8]}@example.com", "an operator password"
    flask = Path(sys.executable).parent / "flask"
    subprocess.run([str(flask), "--app", "wsgi", "create-admin", email, "--password", password],
                   cwd=ROOT, env={**stack.env, "PATH": str(flask.parent)}, check=True,
                   capture_output=True, timeout=60)
    admin = Api(stack.api)
    session = admin.data("POST", "/api/auth/login", {"email": email, "password": password})
    admin.token, admin.user = session["accessToken"], session["user"]
    return admin


def balance(api: Api) -> int:
    return int(api.data("GET", "/api/wallet")["balance"])


def run_task(stack: Stack, name: str, **kwargs: Any) -> None:
    """Enqueue a task by name, as beat would (the worker under test runs it)."""
    from adapters.celery_factory import make_celery
    from adapters.settings import Settings

    make_celery(Settings(redis_url=stack.env["REDIS_URL"])).send_task(name, kwargs=kwargs)


def trial_balance(stack: Stack) -> dict[str, int]:
    from adapters.mongo.ledger import MongoLedger

    return MongoLedger(database(stack)).trial_balance()
