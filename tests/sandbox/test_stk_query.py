"""STK Query: both pending styles, final answers with string codes, and its own validation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import MISSING, CallbackRecorder, DarajaTestClient


def test_pending_in_http500_style_echoes_the_checkout_id(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(callback_delay_ms=3000)
    checkout_request_id = daraja.accepted_push()

    response = daraja.query(checkout_request_id)

    assert response.status_code == 500
    assert response.json() == {
        "requestId": checkout_request_id,
        "errorCode": "500.001.1001",
        "errorMessage": "The transaction is being processed",
    }


def test_pending_in_4999_style_is_a_200_with_a_string_code(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(callback_delay_ms=3000, query_pending_style="4999")
    accepted = daraja.push().json()

    response = daraja.query(accepted["CheckoutRequestID"])

    assert response.status_code == 200
    assert response.json() == {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successsfully",
        "MerchantRequestID": accepted["MerchantRequestID"],
        "CheckoutRequestID": accepted["CheckoutRequestID"],
        "ResultCode": "4999",
        "ResultDesc": "The transaction is still under processing",
    }


def test_after_the_callback_the_query_gives_the_final_answer(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    accepted = daraja.push().json()
    callbacks.wait_for(accepted["CheckoutRequestID"])

    response = daraja.query(accepted["CheckoutRequestID"])

    assert response.status_code == 200
    assert response.json() == {
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successsfully",
        "MerchantRequestID": accepted["MerchantRequestID"],
        "CheckoutRequestID": accepted["CheckoutRequestID"],
        "ResultCode": "0",
        "ResultDesc": "The service request is processed successfully.",
    }


def test_an_unknown_checkout_id_is_invalid(daraja: DarajaTestClient) -> None:
    response = daraja.query("ws_CO_01012024120000000708374149")

    assert response.status_code == 400
    assert response.json()["errorCode"] == "400.002.02"
    assert response.json()["errorMessage"] == "Bad Request - Invalid CheckoutRequestID"


@pytest.mark.parametrize(
    ("overrides", "status", "code", "message"),
    [({"CheckoutRequestID": MISSING}, 400, "400.002.02",
      "Bad Request - Invalid CheckoutRequestID"),
     ({"BusinessShortCode": "600000"}, 400, "400.002.02",
      "Bad Request - Invalid BusinessShortCode"),
     ({"Timestamp": "2024"}, 400, "400.002.02", "Bad Request - Invalid Timestamp"),
     ({"Password": "d3Jvbmc="}, 500, "500.001.1001", "Wrong credentials")],
    ids=["no-checkout-id", "shortcode", "timestamp", "password"],
)
def test_query_validation(
    daraja: DarajaTestClient, overrides: dict[str, Any], status: int, code: str, message: str
) -> None:
    checkout_request_id = daraja.accepted_push()

    response = daraja.query(checkout_request_id, **overrides)

    assert response.status_code == status
    assert (response.json()["errorCode"], response.json()["errorMessage"]) == (code, message)
