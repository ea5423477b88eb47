"""B2C request validation (v1 and v3), the synchronous answer and duplicate ids."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.sandbox.business_harness import B2C_PATHS, BusinessTestClient, new_originator_id
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import EAT, MISSING, CallbackRecorder, wait_until

PLAIN_BASE64_PASSWORD = base64.b64encode(b"Safaricom999!*!").decode()

INVALID_FIELDS: list[tuple[str, Any]] = [
    ("OriginatorConversationID", MISSING),
    ("OriginatorConversationID", ""),
    ("OriginatorConversationID", "x" * 129),
    ("OriginatorConversationID", 12345),
    ("InitiatorName", MISSING),
    ("InitiatorName", ""),
    ("InitiatorName", "   "),
    ("SecurityCredential", MISSING),
    ("SecurityCredential", ""),
    ("SecurityCredential", "not base64 at all!"),
    ("SecurityCredential", "RC6E9WDxXR4b9X2c6z3gp0oC5Th =="),
    ("SecurityCredential", PLAIN_BASE64_PASSWORD),
    ("SecurityCredential", "Safaricom999!*!"),
    ("CommandID", "BusinessPayout"),
    ("CommandID", "TransactionReversal"),
    ("CommandID", MISSING),
    ("Amount", 0),
    ("Amount", -10),
    ("Amount", 100.5),
    ("Amount", "100.50"),
    ("Amount", "ten"),
    ("Amount", True),
    ("Amount", MISSING),
    ("PartyA", "600001"),
    ("PartyA", "174379"),
    ("PartyA", "60000a"),
    ("PartyA", MISSING),
    ("PartyB", "0708374149"),
    ("PartyB", "254808374149"),
    ("PartyB", "+254708374149"),
    ("PartyB", 2547083741490),
    ("PartyB", MISSING),
    ("Remarks", "x"),
    ("Remarks", "x" * 101),
    ("Remarks", "  "),
    ("Remarks", MISSING),
    ("QueueTimeOutURL", "not a url"),
    ("QueueTimeOutURL", "ftp://127.0.0.1/timeout"),
    ("QueueTimeOutURL", MISSING),
    ("ResultURL", "http://127.0.0.1:5000/res ult"),
    ("ResultURL", MISSING),
    ("Occassion", "x" * 101),
    ("Occassion", 7),
]


def expect_invalid(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "400.002.02"
    assert response.json()["errorMessage"] == f"Bad Request - Invalid {field}"


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_v3_invalid_field_is_400_002_02_naming_it(
    business: BusinessTestClient, field: str, value: Any
) -> None:
    expect_invalid(business.b2c(**{field: value}), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("InitiatorName", MISSING), ("SecurityCredential", "bm9wZQ=="), ("Amount", "1.5"),
     ("PartyB", "254708"), ("Occasion", "x" * 101)],
)
def test_v1_validates_the_same_fields_and_its_own_occasion_spelling(
    business: BusinessTestClient, field: str, value: Any
) -> None:
    expect_invalid(business.b2c("v1", **{field: value}), field)


def test_the_first_invalid_field_is_reported(business: BusinessTestClient) -> None:
    response = business.b2c(Amount=0, InitiatorName="", PartyB="07")

    expect_invalid(response, "InitiatorName")


@pytest.mark.parametrize(
    "overrides",
    [{"Amount": "500"}, {"Amount": 500.0}, {"Amount": 9}, {"Amount": 250_001},
     {"CommandID": "SalaryPayment"}, {"CommandID": "PromotionPayment"},
     {"PartyA": 600000, "PartyB": 254111000001}, {"Remarks": "ok"}, {"Remarks": "r" * 100},
     {"Occassion": MISSING}, {"Occassion": "o" * 100},
     {"OriginatorConversationID": "o" * 127 + "1"}],
)
def test_valid_v3_variants_are_accepted_with_the_id_echoed(
    business: BusinessTestClient, overrides: dict[str, Any]
) -> None:
    body = business.b2c_body(**overrides)

    response = business.daraja.post(B2C_PATHS["v3"], body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert list(answer) == [
        "ConversationID", "OriginatorConversationID", "ResponseCode", "ResponseDescription"]
    today = datetime.now(EAT).strftime("%Y%m%d")
    assert re.fullmatch(rf"AG_{today}_[0-9a-f]{{20}}", answer["ConversationID"])
    assert answer["OriginatorConversationID"] == body["OriginatorConversationID"]
    assert answer["ResponseCode"] == "0"
    assert answer["ResponseDescription"] == "Accept the service request successfully."


def test_v1_needs_no_originator_id_and_generates_a_new_style_one(
    business: BusinessTestClient,
) -> None:
    first = business.b2c("v1")
    second = business.b2c("v1", OriginatorConversationID="ignored-by-v1")

    ids = [response.json()["OriginatorConversationID"] for response in (first, second)]
    assert [first.status_code, second.status_code] == [200, 200]
    for generated in ids:
        assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d{7}", generated)
    assert ids[0] != ids[1]


def test_a_reused_originator_id_is_refused_and_changes_nothing(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    originator_id = business.accepted_b2c()

    duplicate = business.b2c(OriginatorConversationID=originator_id, PartyB="254700000006")

    assert duplicate.status_code == 500
    assert duplicate.json()["errorCode"] == "500.002.1001"
    assert duplicate.json()["errorMessage"] == "Duplicate OriginatorConversationID."
    [result] = callbacks.wait_for(originator_id)
    assert result.body["Result"]["ResultParameters"]  # the first payout's result, once
    attempts = wait_until(lambda: business.daraja.control("/callbacks")["items"], what="attempts")
    assert [a["originatorConversationId"] for a in attempts] == [originator_id]


def test_a_refused_request_does_not_use_up_its_originator_id(
    business: BusinessTestClient,
) -> None:
    originator_id = new_originator_id()

    refused = business.b2c(OriginatorConversationID=originator_id, Remarks="")
    accepted = business.b2c(OriginatorConversationID=originator_id)

    assert (refused.status_code, accepted.status_code) == (400, 200)


@pytest.mark.parametrize("path", [*B2C_PATHS.values(), "/mpesa/transactionstatus/v1/query",
                                  "/mpesa/reversal/v1/request"])
def test_business_paths_need_a_bearer_token(business: BusinessTestClient, path: str) -> None:
    url = f"{business.daraja.base_url}{path}"
    response = requests.post(url, json=business.b2c_body(), timeout=5)

    assert response.status_code == 404
    assert response.json()["errorCode"] == "404.001.03"


@pytest.mark.parametrize("path", [*B2C_PATHS.values(), "/mpesa/transactionstatus/v1/query",
                                  "/mpesa/reversal/v1/request"])
def test_a_body_that_is_not_a_json_object_is_400_002_05(
    business: BusinessTestClient, path: str
) -> None:
    response = business.daraja.post(path, ["not", "an", "object"])

    assert response.status_code == 400
    assert response.json()["errorCode"] == "400.002.05"


def test_strict_mode_applies_to_result_and_timeout_urls(start_sandbox: StartSandbox,
                                                        callbacks: CallbackRecorder) -> None:
    business = BusinessTestClient(start_sandbox(strict_callback_url=True), callbacks)
    public = "https://pay.shop.co.ke/api/b2c"

    local = business.b2c(PartyB="254700000005")
    local_result = business.b2c(PartyB="254700000005", QueueTimeOutURL=public)
    both_public = business.b2c(PartyB="254700000005", QueueTimeOutURL=public, ResultURL=public)

    expect_invalid(local, "QueueTimeOutURL")
    expect_invalid(local_result, "ResultURL")
    assert both_public.status_code == 200, both_public.text
