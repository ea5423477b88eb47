"""Reversal of STK payments: the success body, string R00000x codes, and validation."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.sandbox.business_harness import BusinessTestClient
from tests.sandbox.harness import GOOD_PHONE, MISSING, CallbackRecorder
from tests.sandbox.test_transaction_status import expect_invalid

REFERENCE_DATA = {"ReferenceItem": {
    "Key": "QueueTimeoutURL",
    "Value": "https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit"}}
ALREADY_REVERSED = ("R000001", "The transaction has already been reversed")
INVALID_ORIGINAL = ("R000002", "The OriginalTransactionID is invalid")


def outcome(result: dict[str, Any]) -> tuple[Any, str]:
    return result["ResultCode"], result["ResultDesc"]


def test_reversal_of_an_stk_payment(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    receipt = business.paid_receipt(amount=100)
    accepted = business.reversal(TransactionID=receipt, Amount="100")

    [received] = callbacks.wait_for(accepted.json()["OriginatorConversationID"])

    assert received.path == "/result"
    result = received.body["Result"]
    assert list(result) == [
        "ResultType", "ResultCode", "ResultDesc", "OriginatorConversationID", "ConversationID",
        "TransactionID", "ResultParameters", "ReferenceData"]
    assert (result["ResultType"], result["ResultCode"]) == (0, 0)
    assert result["ResultDesc"] == "The service request is processed successfully."
    assert result["ConversationID"] == accepted.json()["ConversationID"]
    assert re.fullmatch(r"[A-Z][A-L][1-9A-V][A-Z0-9]{7}", result["TransactionID"])
    assert result["TransactionID"] != receipt
    assert result["ReferenceData"] == REFERENCE_DATA
    parameters = result["ResultParameters"]["ResultParameter"]
    assert [p["Key"] for p in parameters] == [
        "DebitAccountBalance", "Amount", "TransCompletedTime", "OriginalTransactionID",
        "Charge", "CreditPartyPublicName", "DebitPartyPublicName"]
    values = {p["Key"]: p["Value"] for p in parameters}
    assert re.fullmatch(r"Utility Account\|KES\|(\d+\.\d\d)\|\1\|0\.00\|0\.00",
                        values["DebitAccountBalance"])
    assert type(values["Amount"]) is float and values["Amount"] == 100.0
    assert type(values["TransCompletedTime"]) is int
    assert re.fullmatch(r"20\d{12}", str(values["TransCompletedTime"]))
    assert values["OriginalTransactionID"] == receipt
    assert type(values["Charge"]) is float and values["Charge"] == 0.0
    assert values["CreditPartyPublicName"].startswith(f"{GOOD_PHONE} - ")
    assert values["DebitPartyPublicName"].startswith(f"{business.config.shortcode} - ")


def test_a_second_reversal_is_already_reversed_with_a_string_code(
    business: BusinessTestClient,
) -> None:
    receipt = business.paid_receipt()
    first = business.result(business.reversal(TransactionID=receipt))

    second = business.result(business.reversal(TransactionID=receipt))

    assert first["ResultCode"] == 0
    assert type(second["ResultCode"]) is str
    assert outcome(second) == ALREADY_REVERSED
    assert "ResultParameters" not in second


def test_an_unknown_receipt_is_an_invalid_original(business: BusinessTestClient) -> None:
    result = business.result(business.reversal(TransactionID="SKC82PACB8"))

    assert outcome(result) == INVALID_ORIGINAL
    assert "ResultParameters" not in result


def test_a_b2c_receipt_cannot_be_reversed(business: BusinessTestClient) -> None:
    paid = business.result(business.b2c(Amount=100))

    result = business.result(business.reversal(TransactionID=paid["TransactionID"]))

    assert outcome(result) == INVALID_ORIGINAL


def test_a_wrong_amount_or_initiator_fails_without_using_up_the_receipt(
    business: BusinessTestClient,
) -> None:
    receipt = business.paid_receipt(amount=100)

    wrong_amount = business.result(business.reversal(TransactionID=receipt, Amount=99))
    wrong_password = business.result(
        business.reversal(TransactionID=receipt, SecurityCredential=business.credential("x"))
    )
    right = business.result(business.reversal(TransactionID=receipt, Amount=100))

    assert outcome(wrong_amount) == INVALID_ORIGINAL
    assert outcome(wrong_password) == (2001, "The initiator information is invalid.")
    assert right["ResultCode"] == 0


def test_transaction_status_finds_a_reversal_by_its_originator_id(
    business: BusinessTestClient,
) -> None:
    accepted = business.reversal(TransactionID=business.paid_receipt(amount=100))
    reversed_result = business.result(accepted)

    status = business.status_of(OriginalConversationID=accepted.json()["OriginatorConversationID"])

    values = {p["Key"]: p.get("Value") for p in status["ResultParameters"]["ResultParameter"]}
    assert values["TransactionStatus"] == "Completed"
    assert values["ReceiptNo"] == reversed_result["TransactionID"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("Initiator", MISSING), ("SecurityCredential", "c2hvcnQ="),
     ("CommandID", "TransactionStatusQuery"), ("TransactionID", MISSING),
     ("TransactionID", ""), ("Amount", 0), ("Amount", "1.50"), ("Amount", MISSING),
     ("ReceiverParty", "600000"), ("ReceiverParty", MISSING),
     ("RecieverIdentifierType", "1"), ("RecieverIdentifierType", MISSING),
     ("ResultURL", "ftp://x/y"), ("QueueTimeOutURL", MISSING), ("Remarks", "r"),
     ("Remarks", MISSING), ("Occasion", "o" * 101)],
)
def test_reversal_validation(business: BusinessTestClient, field: str, value: Any) -> None:
    response = business.reversal(**({"TransactionID": "SKC82PACB8"} | {field: value}))

    expect_invalid(response, field)


@pytest.mark.parametrize("identifier_type", ["11", "4", 11])
def test_reversal_accepts_both_identifier_types(
    business: BusinessTestClient, identifier_type: Any
) -> None:
    response = business.reversal(TransactionID="SKC82PACB8",
                                 RecieverIdentifierType=identifier_type)

    assert response.status_code == 200, response.text
