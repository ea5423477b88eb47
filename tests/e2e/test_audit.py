"""The audit trail: admins' actions and every refusal are recorded; read-only, for admins."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import socketio

from adapters.mongo.audit import MongoAudit
from api.audit import REFUSAL_BURST, REFUSALS_PER_S
from tests.helpers import Api, database, funded_deal, make_admin, register, wait_until
from tests.stack import Stack


def _trail(admin: Api, query: str = "") -> list[dict[str, Any]]:
    page = admin.data("GET", f"/api/admin/audit?limit=100{query}")
    return page["items"]  # type: ignore[no-any-return]


def _records(admin: Api, request_id: str) -> list[dict[str, Any]]:
    """The records of one request (by the X-Request-ID we sent), oldest first."""
    found = wait_until(lambda: [r for r in _trail(admin) if r["requestId"] == request_id],
                       what=f"audit records of {request_id}")
    return sorted(found, key=lambda r: r["at"])


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _rid() -> str:
    return f"audit-{uuid.uuid4().hex[:12]}"


def test_a_refused_request_is_recorded_with_who_what_when_and_where(stack: Stack) -> None:
    buyer, admin = register(stack, "buyer"), make_admin(stack)
    anonymous, forbidden = _rid(), _rid()
    agent = "audit-test/" + "x" * 500
    refused = Api(stack.api).get("/api/wallet", headers={
        "X-Request-ID": anonymous, "User-Agent": agent})
    assert refused.status_code == 401
    assert buyer.get("/api/admin/callbacks", headers={"X-Request-ID": forbidden}).status_code \
        == 403

    [first] = _records(admin, anonymous)
    assert first["actor"] == {"id": None, "role": "anonymous"}
    assert (first["method"], first["path"], first["action"]) == ("GET", "/api/wallet",
                                                                 "wallet.Wallet")
    assert (first["outcome"], first["status"], first["errorCode"]) == ("refused", 401,
                                                                       "UNAUTHORIZED")
    assert first["ip"] == "127.0.0.1" and _when(first["at"]).utcoffset() == timedelta(0)
    assert first["userAgent"].startswith("audit-test/") and len(first["userAgent"]) == 200
    [second] = _records(admin, forbidden)
    assert second["actor"] == {"id": buyer.user["id"], "role": "buyer"}
    assert (second["path"], second["outcome"], second["status"], second["errorCode"]) == (
        "/api/admin/callbacks", "refused", 403, "FORBIDDEN")
    stored = str(list(database(stack).audit.find()))
    assert buyer.token not in stored and admin.token not in stored  # type: ignore[operator]


def test_a_phone_number_sent_in_the_path_or_the_user_agent_is_masked_in_the_record(
    stack: Stack,
) -> None:
    admin, rid = make_admin(stack), _rid()
    refused = Api(stack.api).get("/api/transactions/0712345678", headers={
        "X-Request-ID": rid, "User-Agent": "app/1.0 (+254712345678)"})
    assert refused.status_code == 401
    [record] = _records(admin, rid)
    assert record["objectId"] == "2547****678"
    assert record["userAgent"] == "app/1.0 (2547****678)"
    assert "12345678" not in str(database(stack).audit.find_one({"requestId": rid}))


def test_an_id_with_digits_in_a_row_is_recorded_intact(stack: Stack) -> None:
    """An ObjectId may hold a run of digits that looks like a phone number (about 1 in 100
    do): only an id that is a phone number as a whole is masked, never part of one."""
    admin, rid = make_admin(stack), _rid()
    object_id = "ab" + "0712345678" + "cdefabcdefab"  # 24 hex digits, as new_id makes them
    refused = Api(stack.api).get(f"/api/transactions/{object_id}",
                                 headers={"X-Request-ID": rid})
    assert refused.status_code == 401
    [record] = _records(admin, rid)
    assert record["objectId"] == object_id


def test_resolving_a_dispute_is_on_record_before_it_runs(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = funded_deal(stack, buyer, seller, amount=600)
    buyer.data("POST", f"/api/transactions/{deal['id']}/dispute", {"reason": "never came"})
    rid = _rid()
    resolved = admin.data("POST", f"/api/transactions/{deal['id']}/resolve",
                          {"outcome": "refund", "note": "no proof of delivery"},
                          headers={"X-Request-ID": rid})

    attempted, answered = _records(admin, rid)
    for record in (attempted, answered):
        assert record["actor"] == {"id": admin.user["id"], "role": "admin"}
        assert record["action"] == "transaction-lifecycle.Resolve"
        assert record["path"] == "/api/transactions/<deal_id>/resolve"
        assert record["objectId"] == deal["id"] and record["method"] == "POST"
    assert (attempted["outcome"], attempted["status"]) == ("attempted", None)
    assert (answered["outcome"], answered["status"]) == ("allowed", 200)
    event = next(e for e in resolved["timeline"] if e["event"] == "dispute_refund")
    assert _when(attempted["at"]) <= _when(event["timestamp"]) <= _when(answered["at"])


def test_the_trail_is_read_only_for_admins_and_a_refused_reader_is_in_it(stack: Stack) -> None:
    seller, admin = register(stack, "seller"), make_admin(stack)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        answer = admin.call(method, "/api/admin/audit", json={"outcome": "allowed"})
        assert answer.status_code == 405, (method, answer.text)
        assert answer.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    refused = seller.get("/api/admin/audit")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    assert Api(stack.api).get("/api/admin/audit").status_code == 401

    mine = _trail(admin, f"&actor={seller.user['id']}")
    assert [(r["path"], r["outcome"], r["status"]) for r in mine] == [
        ("/api/admin/audit", "refused", 403)]
    refusals = _trail(admin, "&outcome=refused")
    assert refusals and all(r["outcome"] == "refused" for r in refusals)
    assert [r["at"] for r in refusals] == sorted((r["at"] for r in refusals), reverse=True)
    one = admin.data("GET", "/api/admin/audit?limit=1&page=2")
    assert len(one["items"]) == 1 and one["total"] >= 2 and one["limit"] == 1
    bad = admin.get("/api/admin/audit?outcome=maybe")
    assert bad.status_code == 422 and "outcome" in bad.json()["error"]["details"]
    assert {n for n in vars(MongoAudit) if not n.startswith("_")} == {"insert", "find"}


def test_a_callback_with_a_wrong_token_is_refused_and_recorded_without_the_token(
    stack: Stack,
) -> None:
    admin, db, rid = make_admin(stack), database(stack), _rid()
    guess = f"guessed-{uuid.uuid4().hex}"
    before = db.mpesa_callbacks.count_documents({})
    answer = requests.post(f"{stack.api}/api/mpesa/stk/callback/{guess}",
                           json={"Body": {"stkCallback": {"ResultCode": 0}}},
                           headers={"X-Request-ID": rid}, timeout=10)
    assert answer.status_code == 404
    [record] = _records(admin, rid)
    assert (record["path"], record["outcome"], record["status"], record["actor"]["role"]) == (
        "/api/mpesa/stk/callback/<token>", "refused", 404, "anonymous")
    assert record["objectId"] is None
    assert guess not in str(list(db.audit.find()))
    assert db.mpesa_callbacks.count_documents({}) == before


def test_a_refused_socket_connect_is_recorded(stack: Stack) -> None:
    admin, agent = make_admin(stack), f"socket-audit/{uuid.uuid4().hex[:8]}"
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.api, auth={"token": "not-a-token"}, headers={"User-Agent": agent},
                       transports=["websocket"], wait_timeout=10)
    found = wait_until(lambda: [r for r in _trail(admin, "&action=socketio.connect")
                                if r["userAgent"] == agent], what="the refused connect's record")
    assert [(r["outcome"], r["status"], r["actor"]["role"], r["ip"]) for r in found] == [
        ("refused", 401, "anonymous", "127.0.0.1")]
    assert "not-a-token" not in str(list(database(stack).audit.find()))


def test_a_flood_of_refusals_is_recorded_at_a_bounded_rate_and_the_rest_counted(
    stack: Stack,
) -> None:
    agent, flood = f"flood/{uuid.uuid4().hex[:8]}", 300
    url = f"{stack.api}/api/mpesa/stk/callback/flood-{uuid.uuid4().hex}"  # callbacks: no limits

    def hit(_: int) -> int:
        return requests.post(url, json={}, headers={"User-Agent": agent}, timeout=10).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(hit, range(flood)))
    elapsed = time.monotonic() - started
    assert codes == [404] * flood
    assert elapsed < (flood - REFUSAL_BURST) / REFUSALS_PER_S, "too slow to exceed the budget"
    recorded = database(stack).audit.count_documents({"userAgent": agent})
    assert 1 <= recorded <= REFUSAL_BURST + REFUSALS_PER_S * elapsed + 1, (recorded, elapsed)
    wait_until(lambda: "over the budget" in stack.tail("api", 3000),
               what="the log line counting the refusals not recorded")


@contextmanager
def _frozen(stack: Stack, name: str) -> Iterator[None]:
    pid = stack.processes[name].pid
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)


def test_a_refusal_is_still_answered_when_mongo_hangs_and_an_admin_write_is_not_run(
    embedded_stack: Stack,
) -> None:
    # It freezes the Mongo-wire server: one of its stack's own processes, even when the suite
    # runs on real servers (tests/conftest.py, embedded_stack).
    stack = embedded_stack
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = funded_deal(stack, buyer, seller, amount=400)
    buyer.data("POST", f"/api/transactions/{deal['id']}/dispute", {"reason": "late"})
    rid = _rid()
    with _frozen(stack, "mongo"):
        started = time.monotonic()
        refused = Api(stack.api).get("/api/wallet", headers={"X-Request-ID": rid})
        took = time.monotonic() - started
        unrecorded = admin.post(f"/api/transactions/{deal['id']}/resolve", {"outcome": "release"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
    assert took < 3.0, took
    assert unrecorded.status_code == 503, unrecorded.text
    assert "audit trail" in unrecorded.json()["error"]["message"]
    wait_until(lambda: rid in stack.tail("api", 400) and "audit record not written"
               in stack.tail("api", 400), what="the api's log line for the lost record")
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "disputed"
