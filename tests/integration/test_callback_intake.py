"""Callback intake on the real Redis and Mongo-wire server, in process: allow-list and limits."""

from __future__ import annotations

import json
import uuid

from adapters.settings import Settings
from api import create_app
from tests.helpers import database
from tests.stack import Stack

BODY = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_x",
                                 "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}


def _client(stack: Stack, **settings: object):  # type: ignore[no-untyped-def]
    db_name = stack.scratch_db("intake")
    config = Settings(redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
                      mongo_db=db_name, mpesa_callback_token="tok",
                      socketio_channel=f"intake-{db_name}", **settings)  # type: ignore[arg-type]
    return create_app(config).test_client(), database(stack).client[db_name]


def test_a_callback_from_outside_the_allow_list_is_refused_and_kept_flagged(
    stack: Stack,
) -> None:
    client, db = _client(stack, mpesa_callback_allowed_ips=("196.201.214.0/24", "10.1.2.3"))
    refused = client.post("/api/mpesa/stk/callback/tok", json=BODY,
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "FORBIDDEN"
    kept = db.mpesa_callbacks.find_one({"sourceIp": "203.0.113.9"})
    assert kept["status"] == "flagged" and kept["processed"]["outcome"] == "source_not_allowed"
    assert json.loads(kept["raw"]) == BODY
    accepted = client.post("/api/mpesa/stk/callback/tok", json=BODY,
                           environ_base={"REMOTE_ADDR": "196.201.214.200"})
    assert accepted.status_code == 200 and accepted.json == {"ResultCode": 0,
                                                             "ResultDesc": "Accepted"}


def test_the_same_body_twice_is_stored_once_and_counted(stack: Stack) -> None:
    client, db = _client(stack)
    for _ in range(2):
        assert client.post("/api/mpesa/b2c/result/tok", json={"Result": {"x": 1}}).status_code \
            == 200
    stored = list(db.mpesa_callbacks.find({"kind": "b2c_result"}))
    assert len(stored) == 1 and stored[0]["repeats"] == 1


def test_an_oversized_callback_is_413_and_not_stored(stack: Stack) -> None:
    client, db = _client(stack)
    huge = {"Body": {"stkCallback": {"pad": "x" * 70_000}}}
    assert client.post("/api/mpesa/stk/callback/tok", json=huge).status_code == 413
    assert db.mpesa_callbacks.count_documents({}) == 0


def _body() -> dict[str, object]:
    """A distinct STK body (the store keys callbacks by their bytes)."""
    checkout = f"ws_CO_{uuid.uuid4().hex[:20]}"
    return {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": checkout,
                                     "ResultCode": 1032, "ResultDesc": "Request cancelled"}}}


SAFARICOM = ("196.201.214.0/24",)
BALANCER = {"REMOTE_ADDR": "10.0.0.5"}  # the load balancer, as the API's socket sees it


def test_behind_one_proxy_the_rightmost_forwarded_address_decides(stack: Stack) -> None:
    client, db = _client(stack, mpesa_callback_allowed_ips=SAFARICOM, trusted_proxy_hops=1)
    forged = _body()  # the attacker puts an allowed address first; the balancer appends theirs
    refused = client.post("/api/mpesa/stk/callback/tok", json=forged, environ_base=BALANCER,
                          headers={"X-Forwarded-For": "196.201.214.200, 203.0.113.9"})
    assert refused.status_code == 403
    assert db.mpesa_callbacks.find_one({"sourceIp": "203.0.113.9"})["status"] == "flagged"
    real = _body()  # Safaricom's address, appended by our balancer after whatever was sent
    accepted = client.post("/api/mpesa/stk/callback/tok", json=real, environ_base=BALANCER,
                           headers={"X-Forwarded-For": "203.0.113.66, 196.201.214.200"})
    assert accepted.status_code == 200
    assert db.mpesa_callbacks.find_one({"sourceIp": "196.201.214.200"})["status"] != "flagged"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(stack: Stack) -> None:
    client, db = _client(stack, mpesa_callback_allowed_ips=SAFARICOM)
    refused = client.post("/api/mpesa/stk/callback/tok", json=_body(),
                          environ_base={"REMOTE_ADDR": "203.0.113.9"},
                          headers={"X-Forwarded-For": "196.201.214.200"})
    assert refused.status_code == 403
    assert db.mpesa_callbacks.find_one({"sourceIp": "203.0.113.9"}) is not None
    assert db.mpesa_callbacks.find_one({"sourceIp": "196.201.214.200"}) is None


def test_allow_any_source_accepts_callbacks_from_anywhere(stack: Stack) -> None:
    client, _ = _client(stack, mpesa_callback_allow_any_source=True)
    assert client.post("/api/mpesa/stk/callback/tok", json=_body(),
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_a_body_refused_for_its_source_is_received_when_an_allowed_source_sends_it(
    stack: Stack,
) -> None:
    client, db = _client(stack, mpesa_callback_allowed_ips=SAFARICOM)
    body = _body()
    assert client.post("/api/mpesa/stk/callback/tok", json=body,
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    accepted = client.post("/api/mpesa/stk/callback/tok", json=body,
                           environ_base={"REMOTE_ADDR": "196.201.214.200"})
    assert accepted.status_code == 200
    (stored,) = list(db.mpesa_callbacks.find({}))
    assert stored["status"] == "received" and stored["processed"] is None
    assert stored["sourceIp"] == "196.201.214.200"
    assert stored["refused"]["sourceIp"] == "203.0.113.9"  # the evidence is kept
    again = client.post("/api/mpesa/stk/callback/tok", json=body,
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert again.status_code == 403  # a later refused copy does not flag it again
    assert db.mpesa_callbacks.find_one({"_id": stored["_id"]})["status"] == "received"
