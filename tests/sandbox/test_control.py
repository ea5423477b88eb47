"""The sandbox's own endpoints, the Daraja-style 404/405, and callback delivery records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import CallbackRecorder, DarajaTestClient, wait_until

PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
QUERY_PATH = "/mpesa/stkpushquery/v1/query"
OAUTH_PATH = "/oauth/v1/generate"


def test_health(daraja: DarajaTestClient) -> None:
    assert daraja.control("/health") == {"status": "ok"}


def test_wrong_verb_is_405_001_and_unknown_path_is_404(daraja: DarajaTestClient) -> None:
    get_push = requests.get(f"{daraja.base_url}{PUSH_PATH}", timeout=5)
    post_oauth = requests.post(f"{daraja.base_url}{OAUTH_PATH}", timeout=5)
    unknown = requests.post(f"{daraja.base_url}/mpesa/nothing/v1/here", timeout=5)

    assert get_push.status_code == 405
    assert get_push.json()["errorCode"] == "405.001"
    assert get_push.json()["errorMessage"] == "GET Method Not Allowed"
    assert post_oauth.json()["errorMessage"] == "POST Method Not Allowed"
    assert unknown.status_code == 404
    assert unknown.json()["errorCode"] == "404.001.01"


def test_every_daraja_request_is_logged_with_its_answer(daraja: DarajaTestClient) -> None:
    daraja.token()
    accepted = daraja.accepted_push()
    daraja.push(PhoneNumber="254711000123", Amount=0)
    daraja.query(accepted)
    daraja.control("/health")

    items = daraja.control("/requests")["items"]

    assert [(e["method"], e["path"], e["status"]) for e in items] == [
        ("GET", OAUTH_PATH, 200), ("POST", PUSH_PATH, 200), ("POST", PUSH_PATH, 400),
        ("POST", QUERY_PATH, 500)]
    assert [e["phone"] for e in items] == [None, "254708374149", "254711000123", None]
    assert [e["checkoutRequestId"] for e in items] == [None, accepted, None, accepted]
    assert items[0]["body"] is None and items[1]["body"]["Amount"] == 100
    assert len({e["id"] for e in items}) == 4
    assert all(e["at"].endswith("+00:00") and datetime.fromisoformat(e["at"]) for e in items)


def test_request_log_filters_by_path_and_phone(daraja: DarajaTestClient) -> None:
    daraja.accepted_push()
    daraja.accepted_push(PhoneNumber="254711000123")

    by_path = daraja.control("/requests", path=PUSH_PATH)["items"]
    by_phone = daraja.control("/requests", phone="254711000123")["items"]
    both = daraja.control("/requests", path=OAUTH_PATH, phone="254711000123")["items"]

    assert [e["path"] for e in by_path] == [PUSH_PATH, PUSH_PATH]
    assert [e["phone"] for e in by_phone] == ["254711000123"]
    assert both == []


def test_callback_attempts_record_the_status_received(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    checkout_request_id = daraja.accepted_push()
    callbacks.wait_for(checkout_request_id)

    [attempt] = wait_until(lambda: daraja.control("/callbacks")["items"], what="the attempt log")

    assert attempt["checkoutRequestId"] == checkout_request_id
    assert attempt["url"] == f"{daraja.callback_url}/callback"
    assert attempt["body"]["Body"]["stkCallback"]["CheckoutRequestID"] == checkout_request_id
    assert (attempt["status"], attempt["error"]) == (200, None)
    assert datetime.fromisoformat(attempt["at"])


def test_failed_deliveries_are_recorded_and_not_retried(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    refused = daraja.accepted_push(CallBackURL=f"{daraja.callback_url}/status/500")
    unreachable = daraja.accepted_push(
        PhoneNumber="254711000321", CallBackURL="http://127.0.0.1:9/nobody-listens"
    )
    later = daraja.accepted_push(PhoneNumber="254711000322")
    callbacks.wait_for(later)

    def three_attempts() -> list[dict[str, Any]] | None:
        attempts: list[dict[str, Any]] = daraja.control("/callbacks")["items"]
        return attempts if len(attempts) == 3 else None

    attempts = wait_until(three_attempts, what="three attempts")

    by_id = {a["checkoutRequestId"]: a for a in attempts}
    assert (by_id[refused]["status"], by_id[refused]["error"]) == (500, None)
    assert by_id[unreachable]["status"] is None
    assert "Connection" in by_id[unreachable]["error"]
    assert len(callbacks.received(refused)) == 1


def test_reset_clears_state_but_keeps_tokens(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    checkout_request_id = daraja.accepted_push()
    callbacks.wait_for(checkout_request_id)
    wait_until(lambda: daraja.control("/callbacks")["items"], what="the attempt log")

    reset = requests.post(f"{daraja.base_url}/sandbox/reset", timeout=5)

    assert reset.status_code == 200
    assert daraja.control("/requests")["items"] == []
    assert daraja.control("/callbacks")["items"] == []
    unknown = daraja.query(checkout_request_id)  # the token from before the reset still works
    assert unknown.json()["errorMessage"] == "Bad Request - Invalid CheckoutRequestID"
    assert daraja.push().status_code == 200


def test_reset_cancels_callbacks_not_yet_sent(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    daraja = start_sandbox(callback_delay_ms=300)
    cancelled = daraja.accepted_push(PhoneNumber="254711000444")
    requests.post(f"{daraja.base_url}/sandbox/reset", timeout=5)
    later = daraja.accepted_push(PhoneNumber="254711000445")

    callbacks.wait_for(later)

    assert callbacks.received(cancelled) == []
