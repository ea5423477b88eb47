"""Daraja-shaped bodies for push answers, STK callbacks and STK query answers."""

from __future__ import annotations

from typing import Any

from sandbox.config import BalanceMode
from sandbox.ids import daraja_timestamp
from sandbox.stk import Push

PUSH_ACCEPTED = "Success. Request accepted for processing"
QUERY_ACCEPTED = "The service request has been accepted successsfully"  # sic: Daraja's typo
QUERY_PENDING_CODE = "4999"
QUERY_PENDING_DESC = "The transaction is still under processing"

JsonObject = dict[str, Any]


def push_accepted(push: Push) -> JsonObject:
    return {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": PUSH_ACCEPTED,
        "CustomerMessage": PUSH_ACCEPTED,
    }


def stk_callback(push: Push, balance_mode: BalanceMode) -> JsonObject:
    """The callback body; ResultCode is an integer and only successes carry CallbackMetadata."""
    callback: JsonObject = {
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": push.outcome.result_code,
        "ResultDesc": push.outcome.result_desc,
    }
    if push.outcome.succeeded:
        callback["CallbackMetadata"] = {"Item": _metadata_items(push, balance_mode)}
    return {"Body": {"stkCallback": callback}}


def query_final(push: Push) -> JsonObject:
    """The answered query; codes are strings and there is no receipt, amount or phone."""
    return _query_answer(push, str(push.outcome.result_code), push.outcome.result_desc)


def query_pending(push: Push) -> JsonObject:
    """The newer "still processing" answer (HTTP 200, ResultCode "4999")."""
    return _query_answer(push, QUERY_PENDING_CODE, QUERY_PENDING_DESC)


def _query_answer(push: Push, result_code: str, result_desc: str) -> JsonObject:
    return {
        "ResponseCode": "0",
        "ResponseDescription": QUERY_ACCEPTED,
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": result_code,
        "ResultDesc": result_desc,
    }


def _metadata_items(push: Push, balance_mode: BalanceMode) -> list[JsonObject]:
    items: list[JsonObject] = [
        {"Name": "Amount", "Value": float(push.request.amount)},
        {"Name": "MpesaReceiptNumber", "Value": push.receipt},
    ]
    if balance_mode == "valueless":
        items.append({"Name": "Balance"})
    items.append({"Name": "TransactionDate", "Value": int(daraja_timestamp(push.answered_on))})
    items.append({"Name": "PhoneNumber", "Value": int(push.request.phone)})
    return items
