"""SANDBOX_LATENCY_MS, SANDBOX_FAULT_RATE and SANDBOX_OAUTH_FAULT_RATE as seen over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from tests.sandbox.business_harness import BusinessTestClient
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import CallbackRecorder, DarajaTestClient


def elapsed_s(call: Callable[[], requests.Response]) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = call()
    return time.monotonic() - started, response


def test_latency_delays_every_synchronous_answer(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(latency_ms=200)

    timings = [
        elapsed_s(daraja.oauth),
        elapsed_s(daraja.push),
        elapsed_s(lambda: daraja.query("ws_CO_unknown")),
    ]

    assert [response.status_code for _, response in timings] == [200, 200, 400]
    assert all(seconds >= 0.2 for seconds, _ in timings), timings


def test_control_endpoints_are_not_delayed(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(latency_ms=2000)

    seconds, _ = elapsed_s(lambda: requests.get(f"{daraja.base_url}/sandbox/health", timeout=5))

    assert seconds < 2.0


def test_fault_rate_one_fails_business_calls_with_503_and_creates_nothing(
    start_sandbox: StartSandbox,
) -> None:
    daraja = start_sandbox(fault_rate=1.0)

    push = daraja.push()
    query = daraja.query("ws_CO_unknown")

    for response in (push, query):
        assert response.status_code == 503
        assert set(response.json()) == {"requestId", "errorCode", "errorMessage"}
        assert response.json()["errorCode"].startswith("503")
    logged = daraja.control("/requests", path="/mpesa/stkpush/v1/processrequest")["items"]
    assert [(e["status"], e["checkoutRequestId"]) for e in logged] == [(503, None)]
    assert daraja.control("/callbacks")["items"] == []


def test_fault_rate_does_not_touch_oauth(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(fault_rate=1.0)

    assert daraja.oauth().status_code == 200


def test_oauth_fault_rate_one_answers_every_token_request_503(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(oauth_fault_rate=1.0)

    responses = [daraja.oauth(), daraja.oauth(auth=("wrong-key", "wrong-secret"))]

    for response in responses:
        assert response.status_code == 503
        assert response.json()["errorCode"] == "503.001.01"
        assert set(response.json()) == {"requestId", "errorCode", "errorMessage"}
    logged = daraja.control("/requests", path="/oauth/v1/generate")["items"]
    assert [entry["status"] for entry in logged] == [503, 503]


def test_oauth_fault_rate_is_a_share_and_spares_business_calls(
    start_sandbox: StartSandbox,
) -> None:
    daraja = start_sandbox(oauth_fault_rate=0.5, seed=11)

    answers = [daraja.oauth() for _ in range(30)]
    token = next(a.json()["access_token"] for a in answers if a.status_code == 200)

    assert {a.status_code for a in answers} == {200, 503}
    assert {daraja.query("ws_CO_unknown", token=token).status_code for _ in range(20)} == {400}


def test_oauth_fault_rate_is_repeatable_with_a_seed(start_sandbox: StartSandbox) -> None:
    def statuses(daraja: DarajaTestClient) -> list[int]:
        return [daraja.oauth().status_code for _ in range(30)]

    assert statuses(start_sandbox(oauth_fault_rate=0.5, seed=5)) == statuses(
        start_sandbox(oauth_fault_rate=0.5, seed=5))


def test_fault_rate_is_a_share_and_repeatable_with_a_seed(start_sandbox: StartSandbox) -> None:
    def statuses(daraja: DarajaTestClient) -> list[int]:
        return [daraja.query("ws_CO_unknown").status_code for _ in range(30)]

    first = statuses(start_sandbox(fault_rate=0.5, seed=7))
    second = statuses(start_sandbox(fault_rate=0.5, seed=7))

    assert first == second
    assert set(first) == {400, 503}


def test_latency_delays_b2c_status_and_reversal(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    business = BusinessTestClient(start_sandbox(latency_ms=200), callbacks)
    business.certificate()
    business.daraja.token()

    timings = [
        elapsed_s(business.b2c),
        elapsed_s(lambda: business.b2c("v1")),
        elapsed_s(lambda: business.status(TransactionID="SKE1234567")),
        elapsed_s(lambda: business.reversal(TransactionID="SKE1234567")),
    ]

    assert [response.status_code for _, response in timings] == [200, 200, 200, 200]
    assert all(seconds >= 0.2 for seconds, _ in timings), timings


def test_fault_rate_fails_business_calls_before_anything_is_created(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    business = BusinessTestClient(start_sandbox(fault_rate=1.0), callbacks)
    body = business.b2c_body()

    responses = [
        business.daraja.post("/mpesa/b2c/v3/paymentrequest", body),
        business.b2c("v1"),
        business.status(TransactionID="SKE1234567"),
        business.reversal(TransactionID="SKE1234567"),
    ]

    for response in responses:
        assert response.status_code == 503
        assert response.json()["errorCode"] == "503.001.01"
    logged = business.daraja.control("/requests", path="/mpesa/b2c/v3/paymentrequest")["items"]
    assert [(e["status"], e["originatorConversationId"]) for e in logged] == [
        (503, body["OriginatorConversationID"])]
    assert business.daraja.control("/callbacks")["items"] == []


def test_fault_rate_is_a_share_of_b2c_calls_too(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    business = BusinessTestClient(start_sandbox(fault_rate=0.5, seed=3), callbacks)
    body = business.b2c_body(PartyB="254700000005")
    path = "/mpesa/b2c/v3/paymentrequest"

    statuses = [business.daraja.post(path, body).status_code for _ in range(20)]

    accepted_at = statuses.index(200)  # faults before it did not use up the id...
    assert set(statuses[:accepted_at]) == {503}
    assert set(statuses[accepted_at + 1:]) == {500, 503}  # ...after it, it is a duplicate
