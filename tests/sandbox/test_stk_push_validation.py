"""STK push validation: Daraja's order, codes and wording for every field."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import GOOD_PHONE, MISSING, DarajaTestClient

PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
LOST_CALLBACK_PHONE = "254700000005"  # accepted, but its callback is never sent anywhere

INVALID_FIELDS: list[tuple[str, Any, str]] = [
    ("BusinessShortCode", 600000, "BusinessShortCode"),
    ("BusinessShortCode", "17437a", "BusinessShortCode"),
    ("BusinessShortCode", MISSING, "BusinessShortCode"),
    ("Timestamp", "2024-01-01T12:00:00", "Timestamp"),
    ("Timestamp", "20241301120000", "Timestamp"),
    ("Timestamp", "2024010112000", "Timestamp"),
    ("Timestamp", MISSING, "Timestamp"),
    ("TransactionType", "CustomerPayBill", "TransactionType"),
    ("TransactionType", MISSING, "TransactionType"),
    ("Amount", 0, "Amount"),
    ("Amount", 250_001, "Amount"),
    ("Amount", 10.5, "Amount"),
    ("Amount", "10.50", "Amount"),
    ("Amount", -5, "Amount"),
    ("Amount", "ten", "Amount"),
    ("Amount", True, "Amount"),
    ("Amount", MISSING, "Amount"),
    ("PartyA", "0708374149", "PartyA"),
    ("PartyA", "254808374149", "PartyA"),
    ("PartyA", MISSING, "PartyA"),
    ("PhoneNumber", "+254708374149", "PhoneNumber"),
    ("PhoneNumber", "2547083741490", "PhoneNumber"),
    ("PhoneNumber", 25470837414, "PhoneNumber"),
    ("PartyB", "shop", "PartyB"),
    ("PartyB", MISSING, "PartyB"),
    ("CallBackURL", "not a url", "CallBackURL"),
    ("CallBackURL", "ftp://127.0.0.1/callback", "CallBackURL"),
    ("CallBackURL", "http://127.0.0.1:5000/call back", "CallBackURL"),
    ("CallBackURL", "https://<your-domain>/callback", "CallBackURL"),
    ("CallBackURL", MISSING, "CallBackURL"),
    ("AccountReference", "", "AccountReference"),
    ("AccountReference", "ABCDEFGHIJKLM", "AccountReference"),
    ("AccountReference", "ref#1", "AccountReference"),
    ("AccountReference", MISSING, "AccountReference"),
    ("TransactionDesc", "", "Remarks"),
    ("TransactionDesc", None, "Remarks"),
    ("TransactionDesc", MISSING, "Remarks"),
]


def expect_error(response: requests.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {
        "requestId": response.json()["requestId"], "errorCode": code, "errorMessage": message,
    }


@pytest.mark.parametrize(("field", "value", "named"), INVALID_FIELDS)
def test_an_invalid_field_is_400_002_02_naming_it(
    daraja: DarajaTestClient, field: str, value: Any, named: str
) -> None:
    overrides = {field: value}
    if field == "Timestamp" and value is not MISSING:
        overrides |= {"Password": daraja.credentials(str(value))["Password"]}

    response = daraja.push(**overrides)

    expect_error(response, 400, "400.002.02", f"Bad Request - Invalid {named}")


def test_the_first_invalid_field_in_daraja_order_is_reported(daraja: DarajaTestClient) -> None:
    response = daraja.push(Amount=0, PhoneNumber="07", TransactionDesc="")

    expect_error(response, 400, "400.002.02", "Bad Request - Invalid Amount")


def test_password_of_the_public_test_vector_is_accepted(daraja: DarajaTestClient) -> None:
    timestamp = "20160216165627"
    expected = base64.b64encode(
        b"174379bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
        b"20160216165627"
    ).decode()
    assert expected.startswith("MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2Rk")

    response = daraja.push(Timestamp=timestamp, Password=expected, BusinessShortCode=174379)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "password",
    [base64.b64encode(b"174379wrongpasskey20160216165627").decode(), "", MISSING],
    ids=["wrong-passkey", "empty", "missing"],
)
def test_a_wrong_password_is_500_wrong_credentials(daraja: DarajaTestClient, password: Any) -> None:
    response = daraja.push(Timestamp="20160216165627", Password=password)

    expect_error(response, 500, "500.001.1001", "Wrong credentials")


def test_password_built_for_another_timestamp_is_wrong_credentials(
    daraja: DarajaTestClient,
) -> None:
    password = daraja.credentials("20240101120000")["Password"]

    response = daraja.push(Timestamp="20240101120001", Password=password)

    expect_error(response, 500, "500.001.1001", "Wrong credentials")


@pytest.mark.parametrize(
    "overrides",
    [{"Amount": 1}, {"Amount": 250_000}, {"Amount": "5000"}, {"Amount": 70.0},
     {"BusinessShortCode": "174379", "PartyB": 174379},
     {"PhoneNumber": 254111000001, "PartyA": "254111000001"},
     {"TransactionType": "CustomerBuyGoodsOnline"},
     {"AccountReference": "ESC 12-3_4"}, {"CallBackURL": "http://localhost:5000/cb?x=1"}],
)
def test_valid_variants_are_accepted(daraja: DarajaTestClient, overrides: dict[str, Any]) -> None:
    response = daraja.push(**overrides)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ResponseCode"] == "0"
    assert body["ResponseDescription"] == body["CustomerMessage"]
    assert body["CustomerMessage"] == "Success. Request accepted for processing"
    assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d{4}",
                        body["MerchantRequestID"])
    phone = str(overrides.get("PhoneNumber", GOOD_PHONE))
    assert re.fullmatch(rf"ws_CO_\d{{14}}\d{{3}}{phone[-9:]}", body["CheckoutRequestID"])


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"", b"null"])
def test_a_body_that_is_not_a_json_object_is_400_002_05(
    daraja: DarajaTestClient, raw: bytes
) -> None:
    headers = {"Authorization": f"Bearer {daraja.token()}", "Content-Type": "application/json"}
    response = requests.post(f"{daraja.base_url}{PUSH_PATH}", data=raw, headers=headers, timeout=5)

    expect_error(response, 400, "400.002.05", "Invalid Request Payload")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000/cb", "https://localhost/cb", "https://127.0.0.1/cb",
     "https://10.0.0.5/cb", "https://192.168.1.2/cb", "https://example.com/cb",
     "https://shop.co.ke/mpesa/cb", "https://shop.co.ke/cb?query=1", "https://abc.ngrok.io/cb",
     "https://intranet/cb", "https://shop.co.ke/c b"],
)
def test_strict_mode_rejects_local_placeholder_and_blocked_urls(
    start_sandbox: StartSandbox, url: str
) -> None:
    daraja = start_sandbox(strict_callback_url=True)

    response = daraja.push(CallBackURL=url, PhoneNumber=LOST_CALLBACK_PHONE)

    expect_error(response, 400, "400.002.02", "Bad Request - Invalid CallBackURL")


def test_strict_mode_accepts_a_public_https_url(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(strict_callback_url=True)

    response = daraja.push(
        CallBackURL="https://pay.shop.co.ke/api/callback/abc123", PhoneNumber=LOST_CALLBACK_PHONE
    )

    assert response.status_code == 200, response.text
