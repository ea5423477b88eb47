"""daraja-v3 (PyPI ``daraja-v3`` 0.2.1, import ``mpesa``) pointed at the sandbox, unchanged.

Its public API covers OAuth, STK push, STK query and B2C (v3); it has no Transaction Status,
Reversal or SecurityCredential helper, so the credential is made per daraja.md §11 here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from mpesa import AuthenticationError, MpesaClient, MpesaError
from mpesa.auth import Auth

from tests.compat.conftest import (
    B2C_SHORTCODE,
    CANCELLING_PHONE,
    CONSUMER_KEY,
    CONSUMER_SECRET,
    FAST_DELAY_MS,
    INITIATOR,
    PASSKEY,
    PENDING_DELAY_MS,
    REPO_ROOT,
    STK_SHORTCODE,
    TEST_PHONE,
    KeyFiles,
    Sandbox,
    StartSandbox,
    Urls,
    result_parameters,
    security_credential,
    wait_until,
)

RECEIPT = re.compile(r"[A-Z0-9]{10}")


def stk_client(base_url: str) -> MpesaClient:
    return MpesaClient(
        consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, shortcode=STK_SHORTCODE,
        passkey=PASSKEY, base_url=base_url,
    )


def b2c_client(base_url: str) -> MpesaClient:
    """The library takes PartyA from the client's one shortcode: B2C needs its own client."""
    return MpesaClient(
        consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, shortcode=B2C_SHORTCODE,
        base_url=base_url,
    )


def logged_requests(sandbox: Sandbox, path: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{sandbox.base_url}/sandbox/requests", params={"path": path}, timeout=5)
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


# ── OAuth ────────────────────────────────────────────────────────────────────


def test_oauth_token_is_issued_and_cached(sandbox: Sandbox) -> None:
    auth = Auth(CONSUMER_KEY, CONSUMER_SECRET, base_url=sandbox.base_url)

    token = auth.token()

    assert re.fullmatch(r"[A-Za-z0-9]{28}", token), token
    assert auth.token() == token  # "expires_in": "3599" (a string) parsed into the cache
    assert len(logged_requests(sandbox, "/oauth/v1/generate")) == 1


def test_oauth_wrong_secret_is_an_authentication_error(sandbox: Sandbox) -> None:
    auth = Auth(CONSUMER_KEY, "not-the-secret", base_url=sandbox.base_url)

    with pytest.raises(AuthenticationError) as raised:
        auth.token()

    assert raised.value.code == "400"  # HTTP 400 with Daraja's empty text/plain body


# ── STK push and its callback ────────────────────────────────────────────────


def test_stk_push_success_and_callback(sandbox: Sandbox, urls: Urls) -> None:
    client = stk_client(sandbox.base_url)

    pushed = client.stk_push(
        phone="0708374149", amount=100, reference="Order-2024-001", description="Escrow deal",
        callback_url=urls.url("stk"),
    )

    assert pushed.checkout_request_id.startswith("ws_CO_")
    assert pushed.checkout_request_id.endswith(TEST_PHONE[3:])
    assert pushed.merchant_request_id
    assert pushed.response_description == "Success. Request accepted for processing"
    [body] = urls.wait_for("stk")
    parsed = MpesaClient.parse_stk_callback(body)
    assert parsed["paid"] is True
    assert parsed["result_code"] == "0"
    assert parsed["result_desc"] == "The service request is processed successfully."
    assert parsed["checkout_request_id"] == pushed.checkout_request_id
    assert parsed["merchant_request_id"] == pushed.merchant_request_id
    assert parsed["amount"] == 100.0
    assert parsed["phone"] == TEST_PHONE
    assert RECEIPT.fullmatch(parsed["mpesa_receipt"])
    assert isinstance(parsed["transaction_date"], int)
    assert len(str(parsed["transaction_date"])) == 14
    push_body = logged_requests(sandbox, "/mpesa/stkpush/v1/processrequest")[0]["body"]
    assert push_body["AccountReference"] == "Order-2024-0"  # the library cut it to 12
    assert push_body["PartyA"] == push_body["PhoneNumber"] == TEST_PHONE


def test_stk_push_cancelled_by_user_gives_1032(sandbox: Sandbox, urls: Urls) -> None:
    client = stk_client(sandbox.base_url)

    pushed = client.stk_push(
        phone=CANCELLING_PHONE, amount=100, reference="Order-1032", callback_url=urls.url("stk")
    )

    [body] = urls.wait_for("stk")
    parsed = MpesaClient.parse_stk_callback(body)
    assert parsed["paid"] is False
    assert parsed["result_code"] == "1032"
    assert parsed["result_desc"] == "Request cancelled by user"
    assert parsed["checkout_request_id"] == pushed.checkout_request_id
    assert parsed["mpesa_receipt"] is None
    assert "CallbackMetadata" not in body["Body"]["stkCallback"]
    queried = client.stk_query(pushed.checkout_request_id)
    assert (queried.result_code, queried.is_paid) == ("1032", False)


# ── STK query, before and after the customer answers ─────────────────────────


@pytest.mark.parametrize("pending_style", ["http500", "4999"])
def test_stk_query_pending_then_paid(
    start_sandbox: StartSandbox, urls: Urls, pending_style: str
) -> None:
    sandbox = start_sandbox(query_pending_style=pending_style, callback_delay_ms=PENDING_DELAY_MS)
    client = stk_client(sandbox.base_url)
    pushed = client.stk_push(
        phone=TEST_PHONE, amount=250, reference="Order-77", callback_url=urls.url("stk")
    )

    if pending_style == "http500":
        # The library raises on the older pending answer; telling it from a failure is the
        # caller's job (errorCode 500.001.1001 with this message, requestId = CheckoutRequestID).
        with pytest.raises(MpesaError) as raised:
            client.stk_query(pushed.checkout_request_id)
        assert raised.value.code == "500.001.1001"
        assert "The transaction is being processed" in raised.value.message
        assert json.loads(raised.value.raw["body"])["requestId"] == pushed.checkout_request_id
    else:
        pending = client.stk_query(pushed.checkout_request_id)
        assert (pending.result_code, pending.is_paid) == ("4999", False)
        assert pending.result_desc == "The transaction is still under processing"
        assert pending.checkout_request_id == pushed.checkout_request_id
    assert urls.received("stk") == []  # still unanswered: the query really came first

    urls.wait_for("stk")
    final = client.stk_query(pushed.checkout_request_id)
    assert (final.result_code, final.is_paid) == ("0", True)
    assert final.result_desc == "The service request is processed successfully."
    assert final.merchant_request_id == pushed.merchant_request_id
    assert final.raw["ResponseDescription"] == "The service request has been accepted successsfully"


# ── B2C ──────────────────────────────────────────────────────────────────────


def test_b2c_payment_and_result(sandbox: Sandbox, urls: Urls, key_files: KeyFiles) -> None:
    client = b2c_client(sandbox.base_url)

    paid = client.b2c(
        phone="254708374149", amount=500, remarks="Escrow refund",
        callback_url=urls.url("result"), queue_timeout_url=urls.url("timeout"),
        initiator_name=INITIATOR, security_credential=security_credential(key_files.cert),
    )

    assert paid.conversation_id.startswith("AG_")
    assert paid.originator_conversation_id.startswith("b2c-")
    assert paid.response_description == "Accept the service request successfully."
    [result] = urls.wait_for("result")
    assert result["Result"]["ResultCode"] == 0
    assert result["Result"]["OriginatorConversationID"] == paid.originator_conversation_id
    assert result["Result"]["ConversationID"] == paid.conversation_id
    parameters = result_parameters(result)
    assert parameters["TransactionAmount"] == 500
    assert parameters["TransactionReceipt"] == result["Result"]["TransactionID"]
    assert RECEIPT.fullmatch(parameters["TransactionReceipt"])
    assert parameters["ReceiverPartyPublicName"].startswith(f"{TEST_PHONE} - ")
    assert urls.received("timeout") == []


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _FrozenDatetime:
        return cls(2026, 3, 2, 10, 15, 30)


def test_b2c_ids_made_in_the_same_second_collide(
    sandbox: Sandbox, urls: Urls, key_files: KeyFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Library bug: OriginatorConversationID is ``b2c-<unix seconds>``, so two payouts in one
    second reuse it and Daraja v3 (and the sandbox) refuse the second as a duplicate."""
    monkeypatch.setattr("mpesa.client.datetime", _FrozenDatetime)
    client = b2c_client(sandbox.base_url)
    payout: dict[str, Any] = {
        "amount": 100, "remarks": "Escrow payout", "callback_url": urls.url("result"),
        "queue_timeout_url": urls.url("timeout"), "initiator_name": INITIATOR,
        "security_credential": security_credential(key_files.cert),
    }

    first = client.b2c(phone="254708374149", **payout)
    with pytest.raises(MpesaError) as raised:
        client.b2c(phone="254712345678", **payout)

    assert raised.value.code == "500.002.1001"
    assert "Duplicate OriginatorConversationID." in raised.value.message
    sent = logged_requests(sandbox, "/mpesa/b2c/v3/paymentrequest")
    ids = [item["body"]["OriginatorConversationID"] for item in sent]
    assert ids == [first.originator_conversation_id] * 2
    assert [item["status"] for item in sent] == [200, 500]


# ── the real command line: python -m sandbox --host 127.0.0.1 --port N ──────


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def cli_sandbox(key_files: KeyFiles) -> Iterator[str]:
    """``python -m sandbox`` in its own process, configured by SANDBOX_* variables."""
    port = _free_port()
    env = os.environ | {
        "SANDBOX_KEY_PATH": key_files.key,
        "SANDBOX_CERT_PATH": key_files.cert,
        "SANDBOX_CALLBACK_DELAY_MS": str(FAST_DELAY_MS),
        "SANDBOX_QUERY_PENDING_STYLE": "4999",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert process.poll() is None, f"sandbox exited with {process.returncode}"
        try:
            return requests.get(f"{base_url}/sandbox/health", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(healthy, "python -m sandbox to listen", timeout_s=10)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_cli_sandbox_serves_the_whole_stk_flow(cli_sandbox: str, urls: Urls) -> None:
    client = stk_client(cli_sandbox)

    pushed = client.stk_push(
        phone=TEST_PHONE, amount=10, reference="CLI-1", callback_url=urls.url("stk")
    )

    [body] = urls.wait_for("stk")
    parsed = MpesaClient.parse_stk_callback(body)
    assert (parsed["paid"], parsed["checkout_request_id"]) == (True, pushed.checkout_request_id)
    assert parsed["amount"] == 10.0
    final = client.stk_query(pushed.checkout_request_id)
    assert (final.result_code, final.is_paid) == ("0", True)
