"""Transaction Status: results for B2C and STK payments, failures, unknown ids, validation."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from tests.sandbox.business_harness import BusinessTestClient
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import GOOD_PHONE, MISSING, CallbackRecorder

SUCCESS_DESC = "The service request is processed successfully."


def parameter_list(result: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(p["Key"], p.get("Value", MISSING))
            for p in result["ResultParameters"]["ResultParameter"]]


def b2c_receipt(business: BusinessTestClient, **overrides: Any) -> tuple[str, dict[str, Any]]:
    """Pay out; return (OriginatorConversationID, result)."""
    response = business.b2c(**overrides)
    return response.json()["OriginatorConversationID"], business.result(response)


def test_status_of_a_b2c_payment_by_receipt(business: BusinessTestClient) -> None:
    originator_id, paid = b2c_receipt(business, Amount=300)
    receipt = paid["TransactionID"]
    query = business.status(TransactionID=receipt)

    result = business.result(query)

    assert list(result) == [
        "ResultType", "ResultCode", "ResultDesc", "OriginatorConversationID", "ConversationID",
        "TransactionID", "ResultParameters", "ReferenceData"]
    assert (result["ResultType"], result["ResultCode"], result["ResultDesc"]) == (
        0, 0, SUCCESS_DESC)
    assert result["OriginatorConversationID"] == query.json()["OriginatorConversationID"]
    assert result["ConversationID"] == query.json()["ConversationID"] != paid["ConversationID"]
    assert result["TransactionID"] == receipt[:3] + "0000000"
    assert result["ReferenceData"] == {"ReferenceItem": {"Key": "Occasion", "Value": "Check"}}
    found = parameter_list(result)
    values = dict(found)
    assert [key for key, _ in found].count("DebitPartyName") == 2
    assert ("TransactionReason", MISSING) in found
    debit_names = [value for key, value in found if key == "DebitPartyName"]
    assert debit_names[0].startswith(f"{business.config.b2c_shortcode} - ")
    assert debit_names[1].startswith(f"{GOOD_PHONE} - ")
    assert set(values) == {
        "ReceiptNo", "ConversationID", "OriginatorConversationID", "TransactionStatus",
        "ReasonType", "TransactionReason", "DebitPartyName", "DebitAccountType",
        "DebitPartyCharges", "InitiatedTime", "FinalisedTime", "Amount", "CreditPartyName"}
    assert values["ReceiptNo"] == receipt
    assert values["ConversationID"] == paid["ConversationID"]
    assert values["OriginatorConversationID"] == originator_id
    assert values["TransactionStatus"] == "Completed"
    assert values["ReasonType"] == "Business Payment to Customer via API"
    assert values["DebitAccountType"] == "Utility Account"
    assert re.fullmatch(r"Fee For B2C Payment\|KES\|\d+\.\d\d", values["DebitPartyCharges"])
    assert values["Amount"] == "300"
    assert values["CreditPartyName"] == debit_names[1]
    for key in ("InitiatedTime", "FinalisedTime"):
        assert isinstance(values[key], str) and re.fullmatch(r"\d{14}", values[key])
    assert values["InitiatedTime"] <= values["FinalisedTime"]


def test_status_of_an_stk_payment_by_receipt(business: BusinessTestClient) -> None:
    receipt = business.paid_receipt(amount=250)

    result = business.status_of(TransactionID=receipt, PartyA=business.config.shortcode,
                                Occasion=MISSING)

    found = parameter_list(result)
    values = dict(found)
    assert (values["TransactionStatus"], values["ReceiptNo"], values["Amount"]) == (
        "Completed", receipt, "250")
    assert values["ReasonType"] == "Customer Pay Bill Online"
    debit_names = [value for key, value in found if key == "DebitPartyName"]
    assert debit_names[0].startswith(f"{GOOD_PHONE} - ")  # the customer paid
    assert debit_names[1] == values["CreditPartyName"]
    assert values["CreditPartyName"].startswith(f"{business.config.shortcode} - ")
    assert result["ReferenceData"] == {"ReferenceItem": {"Key": "Occasion"}}


@pytest.mark.parametrize("by", ["OriginalConversationID", "TransactionID"])
def test_status_of_a_failed_b2c_says_declined_with_its_reason(
    business: BusinessTestClient, by: str
) -> None:
    originator_id, failed = b2c_receipt(business, PartyB="254700000002")
    ids = {"OriginalConversationID": originator_id, "TransactionID": failed["TransactionID"]}

    result = business.status_of(**{by: ids[by]})

    assert type(result["ResultCode"]) is int
    assert result["ResultCode"] == 0  # the query worked; the transaction did not
    values = {p["Key"]: p.get("Value") for p in result["ResultParameters"]["ResultParameter"]}
    assert values["TransactionStatus"] == "Declined"
    assert values["TransactionReason"] == "The balance is insufficient for the transaction."
    assert values["OriginatorConversationID"] == originator_id
    assert result["TransactionID"].endswith("0000000")


@pytest.mark.parametrize(
    "ids",
    [{"TransactionID": "SKE1234567"}, {"OriginalConversationID": "never-paid-out"},
     {"TransactionID": "SKE1234567", "OriginalConversationID": "never-paid-out"}],
)
def test_status_of_an_unknown_transaction_is_2032(
    business: BusinessTestClient, ids: dict[str, str]
) -> None:
    result = business.status_of(**ids)

    assert (result["ResultCode"], result["ResultDesc"]) == (2032, "Request not found.")
    assert "ResultParameters" not in result


def test_status_with_a_wrong_password_is_2001(business: BusinessTestClient) -> None:
    originator_id = business.accepted_b2c()

    result = business.status_of(OriginalConversationID=originator_id,
                                SecurityCredential=business.credential("wrong"))

    assert (result["ResultCode"], result["ResultDesc"]) == (
        2001, "The initiator information is invalid.")
    assert "ResultParameters" not in result


def test_status_asked_before_the_result_tells_the_final_truth(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    business = BusinessTestClient(start_sandbox(result_delay_ms=400), callbacks)
    originator_id = business.accepted_b2c(Amount=800)
    query = business.status(OriginalConversationID=originator_id)
    assert callbacks.received(originator_id) == []  # the payout's result is not out yet

    result = business.result(query)

    values = dict(parameter_list(result))
    assert (values["TransactionStatus"], values["Amount"]) == ("Completed", "800")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [({"Initiator": MISSING}, "Initiator"), ({"Initiator": ""}, "Initiator"),
     ({"SecurityCredential": "%%%"}, "SecurityCredential"),
     ({"CommandID": "TransactionStatus"}, "CommandID"),
     ({}, "TransactionID"), ({"TransactionID": ""}, "TransactionID"),
     ({"TransactionID": 42}, "TransactionID"),
     ({"TransactionID": "SKE1234567", "PartyA": "600001"}, "PartyA"),
     ({"TransactionID": "SKE1234567", "IdentifierType": "3"}, "IdentifierType"),
     ({"TransactionID": "SKE1234567", "ResultURL": "nope"}, "ResultURL"),
     ({"TransactionID": "SKE1234567", "QueueTimeOutURL": MISSING}, "QueueTimeOutURL"),
     ({"TransactionID": "SKE1234567", "Remarks": MISSING}, "Remarks"),
     ({"TransactionID": "SKE1234567", "Remarks": "r" * 101}, "Remarks"),
     ({"TransactionID": "SKE1234567", "Occasion": "o" * 101}, "Occasion")],
)
def test_status_validation(
    business: BusinessTestClient, overrides: dict[str, Any], named: str
) -> None:
    response = business.status(**overrides)

    expect_invalid(response, named)


@pytest.mark.parametrize("identifier_type", ["1", "2", "4", 4])
def test_status_accepts_each_identifier_type(
    business: BusinessTestClient, identifier_type: Any
) -> None:
    response = business.status(TransactionID="SKE1234567", IdentifierType=identifier_type)

    assert response.status_code == 200, response.text


def expect_invalid(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "400.002.02"
    assert response.json()["errorMessage"] == f"Bad Request - Invalid {field}"
