"""B2C results by PartyB: exact bodies and JSON types, timeouts, lost and repeated results."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.sandbox.business_harness import BusinessTestClient, new_originator_id
from tests.sandbox.harness import EAT, GOOD_PHONE, CallbackRecorder, wait_until

SUCCESS_DESC = "The service request is processed successfully."
REFERENCE_DATA = {"ReferenceItem": {
    "Key": "QueueTimeoutURL",
    "Value": "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit"}}
RECEIPT = r"[A-Z][A-L][1-9A-V][A-Z0-9]{7}"
PARAMETER_KEYS = {
    "TransactionAmount", "TransactionReceipt", "ReceiverPartyPublicName",
    "TransactionCompletedDateTime", "B2CUtilityAccountAvailableFunds",
    "B2CWorkingAccountAvailableFunds", "B2CChargesPaidAccountAvailableFunds",
    "B2CRecipientIsRegisteredCustomer"}


def parameters(result: dict[str, Any]) -> dict[str, Any]:
    return {p["Key"]: p.get("Value") for p in result["ResultParameters"]["ResultParameter"]}


def is_money(value: object) -> bool:
    return type(value) is float and round(value, 2) == value


def test_success_result_has_daraja_shape_and_types(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    accepted = business.b2c(Amount="1500")

    [received] = callbacks.wait_for(accepted.json()["OriginatorConversationID"])

    assert received.path == "/result"
    assert re.search(r'"Key":\s*"TransactionAmount",\s*"Value":\s*1500[,}]', received.raw)
    result = received.body["Result"]
    assert list(result) == [
        "ResultType", "ResultCode", "ResultDesc", "OriginatorConversationID", "ConversationID",
        "TransactionID", "ResultParameters", "ReferenceData"]
    assert type(result["ResultType"]) is int and result["ResultType"] == 0
    assert type(result["ResultCode"]) is int and result["ResultCode"] == 0
    assert result["ResultDesc"] == SUCCESS_DESC
    assert result["OriginatorConversationID"] == accepted.json()["OriginatorConversationID"]
    assert result["ConversationID"] == accepted.json()["ConversationID"]
    assert re.fullmatch(RECEIPT, result["TransactionID"])
    assert result["ReferenceData"] == REFERENCE_DATA
    values = parameters(result)
    assert set(values) == PARAMETER_KEYS
    assert type(values["TransactionAmount"]) is int and values["TransactionAmount"] == 1500
    assert values["TransactionReceipt"] == result["TransactionID"]
    assert re.fullmatch(rf"{GOOD_PHONE} - [A-Z]+( [A-Z]+)+", values["ReceiverPartyPublicName"])
    completed = datetime.strptime(values["TransactionCompletedDateTime"], "%d.%m.%Y %H:%M:%S")
    assert abs(datetime.now(EAT) - completed.replace(tzinfo=EAT)) < timedelta(minutes=1)
    for key in ("B2CUtilityAccountAvailableFunds", "B2CWorkingAccountAvailableFunds"):
        assert is_money(values[key]) and values[key] > 0 and not values[key].is_integer()
    assert is_money(values["B2CChargesPaidAccountAvailableFunds"])
    assert values["B2CChargesPaidAccountAvailableFunds"] < 0
    assert values["B2CRecipientIsRegisteredCustomer"] == "Y"


def test_parameter_order_varies_and_funds_fall_by_the_amount(
    business: BusinessTestClient,
) -> None:
    first = business.result(business.b2c(Amount=1000))
    second = business.result(business.b2c(Amount=250))

    first_keys = [p["Key"] for p in first["ResultParameters"]["ResultParameter"]]
    second_keys = [p["Key"] for p in second["ResultParameters"]["ResultParameter"]]
    assert first_keys != second_keys and set(first_keys) == set(second_keys)
    utility = [parameters(r)["B2CUtilityAccountAvailableFunds"] for r in (first, second)]
    assert round(utility[0] - utility[1], 2) == 250.0
    assert first["TransactionID"] != second["TransactionID"]


@pytest.mark.parametrize(
    ("overrides", "code", "desc"),
    [({"PartyB": "254700000001"}, 2001, "The initiator information is invalid."),
     ({"PartyB": "254700000002"}, 1, "The balance is insufficient for the transaction."),
     ({"Amount": 9}, 2, "Declined due to limit rule: less than the minimum transaction amount."),
     ({"Amount": 250_001}, 3,
      "Declined due to limit rule: greater than the maximum transaction amount."),
     ({"InitiatorName": "testapi2"}, 2001, "The initiator information is invalid.")],
    ids=["phone-0001", "phone-0002", "below-minimum", "above-maximum", "wrong-initiator"],
)
def test_failures_have_an_int_code_a_receipt_like_id_and_no_parameters(
    business: BusinessTestClient, overrides: dict[str, Any], code: int, desc: str
) -> None:
    result = business.result(business.b2c(**overrides))

    assert list(result) == [
        "ResultType", "ResultCode", "ResultDesc", "OriginatorConversationID", "ConversationID",
        "TransactionID", "ReferenceData"]
    assert type(result["ResultCode"]) is int
    assert (result["ResultCode"], result["ResultDesc"]) == (code, desc)
    assert re.fullmatch(RECEIPT, result["TransactionID"])


def test_a_credential_built_by_the_client_is_accepted_and_a_wrong_password_is_2001(
    business: BusinessTestClient,
) -> None:
    right = business.result(business.b2c(SecurityCredential=business.credential()))
    wrong = business.b2c(SecurityCredential=business.credential("Safaricom998!*!"))

    assert right["ResultCode"] == 0
    assert wrong.status_code == 200  # accepted: only the result knows
    result = business.result(wrong)
    assert (result["ResultCode"], result["ResultDesc"]) == (
        2001, "The initiator information is invalid.")


@pytest.mark.parametrize("version", ["v1", "v3"])
def test_both_versions_pay_phone_0004_and_any_other_number(
    business: BusinessTestClient, version: str
) -> None:
    for phone in ("254700000004", "254111000123"):
        result = business.result(business.b2c(version, PartyB=phone))

        assert result["ResultCode"] == 0
        assert parameters(result)["ReceiverPartyPublicName"].startswith(f"{phone} - ")


def test_timeout_phone_gets_only_the_queue_timeout_yet_the_money_moved(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    accepted = business.b2c(PartyB="254700000003", Amount=700).json()
    originator_id = accepted["OriginatorConversationID"]
    later = business.accepted_b2c()

    [timeout] = callbacks.wait_for(originator_id)
    callbacks.wait_for(later)  # its result was due after the timed-out one's

    assert timeout.path == "/timeout"
    assert timeout.body == {"Result": {
        "ResultType": 0, "ResultCode": 1037,
        "ResultDesc": "The request timed out while waiting in the queue.",
        "OriginatorConversationID": originator_id,
        "ConversationID": accepted["ConversationID"], "TransactionID": ""}}
    assert callbacks.received(originator_id) == [timeout]
    status = business.status_of(OriginalConversationID=originator_id)
    assert status["ResultCode"] == 0
    values = parameters(status)
    assert values["TransactionStatus"] == "Completed" and values["Amount"] == "700"
    assert re.fullmatch(RECEIPT, values["ReceiptNo"])


def test_lost_result_is_never_sent_but_transaction_status_knows(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    lost = business.accepted_b2c(PartyB="254700000005")
    later = business.accepted_b2c()
    callbacks.wait_for(later)

    status = business.status_of(OriginalConversationID=lost)

    assert callbacks.received(lost) == []
    values = parameters(status)
    assert values["TransactionStatus"] == "Completed"
    assert values["OriginatorConversationID"] == lost
    kinds = [(a["kind"], a["originatorConversationId"])
             for a in business.daraja.control("/callbacks")["items"]]
    assert ("b2c_result", lost) not in kinds and ("b2c_result", later) in kinds


def test_double_result_phone_gets_the_same_result_twice(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    originator_id = business.accepted_b2c(PartyB="254700000006")

    received = callbacks.wait_for(originator_id, count=2)

    assert len({callback.raw for callback in received}) == 1
    assert received[0].body["Result"]["ResultCode"] == 0
    wait_until(lambda: len(business.daraja.control("/callbacks")["items"]) == 2,
               what="two attempts logged")


def test_flaky_phone_fails_odd_attempts_and_keeps_the_originator_id_free(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    phone, first_id, second_id = "254700000007", new_originator_id(), new_originator_id()

    attempts = [business.b2c(PartyB=phone, OriginatorConversationID=originator_id)
                for originator_id in (first_id, first_id, second_id, second_id)]

    assert [a.status_code for a in attempts] == [500, 200, 500, 200]
    for failed in (attempts[0], attempts[2]):
        assert failed.json()["errorCode"] == "500.002.1001"
        assert failed.json()["errorMessage"] == "System internal error."
    assert business.result(attempts[1])["ResultCode"] == 0
    assert business.result(attempts[3])["ResultCode"] == 0
    logged = business.daraja.control("/requests", phone=phone)["items"]
    assert [(e["status"], e["originatorConversationId"]) for e in logged] == [
        (500, first_id), (200, first_id), (500, second_id), (200, second_id)]
    assert len(callbacks.received(first_id)) == 1
