"""Outcomes by phone number: exact callback bodies, lost and repeated callbacks, throttles."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import EAT, GOOD_PHONE, CallbackRecorder, DarajaTestClient, wait_until

SUCCESS_DESC = "The service request is processed successfully."
MONTHS = "ABCDEFGHIJKL"
DAYS = "123456789ABCDEFGHIJKLMNOPQRSTUV"


def final_query(daraja: DarajaTestClient, checkout_request_id: str) -> dict[str, str]:
    def answered() -> dict[str, str] | None:
        response = daraja.query(checkout_request_id)
        return dict(response.json()) if response.status_code == 200 else None

    return wait_until(answered, what="the query's final answer")


def test_success_callback_has_daraja_types_and_item_order(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    accepted = daraja.push(Amount="2500").json()
    checkout_request_id = accepted["CheckoutRequestID"]

    [received] = callbacks.wait_for(checkout_request_id)

    assert received.path == "/callback"
    assert re.search(r'"Value":\s*2500\.0', received.raw), received.raw
    callback = received.body["Body"]["stkCallback"]
    assert list(callback) == ["MerchantRequestID", "CheckoutRequestID", "ResultCode",
                              "ResultDesc", "CallbackMetadata"]
    assert callback["MerchantRequestID"] == accepted["MerchantRequestID"]
    assert callback["CheckoutRequestID"] == checkout_request_id
    assert type(callback["ResultCode"]) is int and callback["ResultCode"] == 0
    assert callback["ResultDesc"] == SUCCESS_DESC
    items = callback["CallbackMetadata"]["Item"]
    assert [item["Name"] for item in items] == [
        "Amount", "MpesaReceiptNumber", "Balance", "TransactionDate", "PhoneNumber"]
    amount, receipt, balance, transaction_date, phone = (item.get("Value") for item in items)
    assert type(amount) is float and amount == 2500.0
    assert items[2] == {"Name": "Balance"}
    assert balance is None
    assert type(phone) is int and phone == int(GOOD_PHONE)
    assert type(transaction_date) is int
    paid_at = datetime.strptime(str(transaction_date), "%Y%m%d%H%M%S").replace(tzinfo=EAT)
    assert abs(datetime.now(EAT) - paid_at) < timedelta(minutes=1)  # written in EAT
    expected_prefix = ("LMNOPQRSTUVWXYZ"[paid_at.year - 2017] + MONTHS[paid_at.month - 1]
                       + DAYS[paid_at.day - 1])
    assert re.fullmatch(rf"{expected_prefix}[A-Z0-9]{{7}}", receipt)


def test_receipts_are_unique(daraja: DarajaTestClient, callbacks: CallbackRecorder) -> None:
    phones = [f"25471100{n:04d}" for n in range(5)]
    checkout_ids = [daraja.accepted_push(PhoneNumber=phone) for phone in phones]

    receipts = {
        callbacks.wait_for(cid)[0].body["Body"]["stkCallback"]["CallbackMetadata"]["Item"][1]["Value"]
        for cid in checkout_ids
    }

    assert len(receipts) == len(phones)
    assert len(set(checkout_ids)) == len(phones)


def test_balance_item_is_absent_in_absent_mode(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    daraja = start_sandbox(balance_mode="absent")

    [received] = callbacks.wait_for(daraja.accepted_push())

    items = received.body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    assert [item["Name"] for item in items] == [
        "Amount", "MpesaReceiptNumber", "TransactionDate", "PhoneNumber"]


@pytest.mark.parametrize(
    ("phone", "code", "desc"),
    [("254700000001", 1032, "Request cancelled by user"),
     ("254700000002", 1, "The balance is insufficient for the transaction."),
     ("254700000003", 1037, "DS timeout user cannot be reached"),
     ("254700000004", 2001, "The initiator information is invalid.")],
)
def test_failure_phones_get_their_result_code_and_no_metadata(
    daraja: DarajaTestClient, callbacks: CallbackRecorder, phone: str, code: int, desc: str
) -> None:
    checkout_request_id = daraja.accepted_push(PhoneNumber=phone, PartyA=phone)

    [received] = callbacks.wait_for(checkout_request_id)

    callback = received.body["Body"]["stkCallback"]
    assert list(callback) == ["MerchantRequestID", "CheckoutRequestID", "ResultCode", "ResultDesc"]
    assert type(callback["ResultCode"]) is int
    assert (callback["ResultCode"], callback["ResultDesc"]) == (code, desc)
    assert "CallbackMetadata" not in received.raw
    answer = final_query(daraja, checkout_request_id)
    assert (answer["ResultCode"], answer["ResultDesc"]) == (str(code), desc)


def test_lost_callback_is_never_sent_but_the_query_knows(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    lost = daraja.accepted_push(PhoneNumber="254700000005")
    later = daraja.accepted_push(PhoneNumber=GOOD_PHONE)

    answer = final_query(daraja, lost)
    callbacks.wait_for(later)  # sent after the lost one would have been

    assert (answer["ResultCode"], answer["ResultDesc"]) == ("0", SUCCESS_DESC)
    assert callbacks.received(lost) == []
    attempts = daraja.control("/callbacks")["items"]
    assert [a["checkoutRequestId"] for a in attempts] == [later]


def test_duplicate_phone_gets_the_same_callback_three_times(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    checkout_request_id = daraja.accepted_push(PhoneNumber="254700000006")

    received = callbacks.wait_for(checkout_request_id, count=3)

    assert len({callback.raw for callback in received}) == 1
    assert received[0].body["Body"]["stkCallback"]["ResultCode"] == 0
    wait_until(lambda: len(daraja.control("/callbacks")["items"]) == 3, what="3 attempts logged")


def test_a_second_push_to_a_busy_phone_cannot_lock_the_subscriber(
    start_sandbox: StartSandbox,
) -> None:
    daraja = start_sandbox(callback_delay_ms=500)
    daraja.accepted_push()

    locked = daraja.push()
    other_phone = daraja.push(PhoneNumber="254711000999")

    assert locked.status_code == 500
    assert locked.json()["errorCode"] == "500.001.1001"
    assert locked.json()["errorMessage"] == (
        "Unable to lock subscriber, a transaction is already in process for the current subscriber")
    assert other_phone.status_code == 200
    wait_until(lambda: daraja.push().status_code == 200, what="the subscriber to be free again")


def test_spike_arrest_phone_fails_every_odd_attempt_and_creates_nothing(
    daraja: DarajaTestClient, callbacks: CallbackRecorder
) -> None:
    phone = "254700000007"
    first, second, third = (daraja.push(PhoneNumber=phone) for _ in range(3))

    for refused in (first, third):
        assert refused.status_code == 500
        assert refused.json()["errorCode"] == "500.003.02"
        assert refused.json()["errorMessage"] == "Error Occurred: Spike Arrest Violation"
    assert second.status_code == 200
    callbacks.wait_for(second.json()["CheckoutRequestID"])
    logged = daraja.control("/requests", phone=phone)["items"]
    assert [(e["status"], e["checkoutRequestId"]) for e in logged] == [
        (500, None), (200, second.json()["CheckoutRequestID"]), (500, None)]
    assert len(daraja.control("/callbacks")["items"]) == 1
