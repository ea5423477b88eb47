"""Daraja-shaped bodies for B2C, Transaction Status and Reversal answers and results.

Result bodies follow daraja-examples/b2c-result-*.json, transaction-status-result.json and
reversal-result.json: integer ResultType and (except Reversal's R00000x) integer ResultCode,
ResultParameters on success only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.ids import daraja_timestamp, placeholder_receipt
from sandbox.ledger import TransactionRecord
from sandbox.outcomes import INITIATOR_INVALID, SUCCESS
from sandbox.payouts import Payout
from sandbox.reversals import Reversal

ACCEPTED_DESC = "Accept the service request successfully."
B2C_REFERENCE_URL = "https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit"
REVERSAL_REFERENCE_URL = "https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit"
QUEUE_TIMEOUT_CODE = 1037
QUEUE_TIMEOUT_DESC = "The request timed out while waiting in the queue."
NOT_FOUND_CODE = 2032
NOT_FOUND_DESC = "Request not found."

JsonObject = dict[str, Any]


def accepted(originator_conversation_id: str, conversation_id: str) -> JsonObject:
    """The synchronous answer of B2C, Transaction Status and Reversal."""
    return {
        "ConversationID": conversation_id,
        "OriginatorConversationID": originator_conversation_id,
        "ResponseCode": "0",
        "ResponseDescription": ACCEPTED_DESC,
    }


def payout_result(payout: Payout) -> JsonObject:
    """The B2C result; the ResultParameters' order turns by one from one payout to the next."""
    record = payout.record
    parameters = None
    if record.succeeded:
        parameters = _payout_parameters(payout)
        turn = payout.sequence % len(parameters)
        parameters = parameters[turn:] + parameters[:turn]
    return _record_result(record, parameters, B2C_REFERENCE_URL)


def payout_queue_timeout(payout: Payout) -> JsonObject:
    """What QueueTimeOutURL gets: a model, since Daraja's real body is undocumented."""
    return {
        "Result": {
            "ResultType": 0,
            "ResultCode": QUEUE_TIMEOUT_CODE,
            "ResultDesc": QUEUE_TIMEOUT_DESC,
            "OriginatorConversationID": payout.record.originator_conversation_id,
            "ConversationID": payout.record.conversation_id,
            "TransactionID": "",
        }
    }


@dataclass(frozen=True)
class StatusQuery:
    """An accepted Transaction Status query, its own ids and what it found."""

    originator_conversation_id: str
    conversation_id: str
    queried_on: datetime
    initiator_valid: bool
    found: TransactionRecord | None
    occasion: str | None

    @property
    def outcome(self) -> tuple[int | str, str]:
        """2001 for a wrong initiator, 2032 for an unknown transaction, else success: the
        query worked, and its TransactionStatus parameter tells how the transaction ended."""
        if not self.initiator_valid:
            return INITIATOR_INVALID.result_code, INITIATOR_INVALID.result_desc
        if self.found is None:
            return NOT_FOUND_CODE, NOT_FOUND_DESC
        return SUCCESS.result_code, SUCCESS.result_desc


def status_result(query: StatusQuery) -> JsonObject:
    """TransactionID is a zero placeholder; ResultParameters describe the found transaction."""
    result_code, result_desc = query.outcome
    reference_item: JsonObject = {"Key": "Occasion"}
    if query.occasion is not None:
        reference_item["Value"] = query.occasion
    parameters = None
    if result_code == 0 and query.found is not None:
        parameters = _status_parameters(query.found)
    return _result(
        (result_code, result_desc),
        (query.originator_conversation_id, query.conversation_id),
        placeholder_receipt(query.queried_on.date()),
        parameters,
        {"ReferenceItem": reference_item},
    )


def reversal_result(reversal: Reversal) -> JsonObject:
    record, original = reversal.record, reversal.original
    parameters = None
    if record.succeeded and original is not None:
        balance = f"{reversal.utility_balance:.2f}"
        parameters = _parameters(
            ("DebitAccountBalance", f"Utility Account|KES|{balance}|{balance}|0.00|0.00"),
            ("Amount", float(record.amount)),
            ("TransCompletedTime", int(daraja_timestamp(record.finalised_on))),
            ("OriginalTransactionID", original.transaction_id),
            ("Charge", 0.0),
            ("CreditPartyPublicName", original.debit_party),
            ("DebitPartyPublicName", record.debit_party),
        )
    return _record_result(record, parameters, REVERSAL_REFERENCE_URL)


def _record_result(
    record: TransactionRecord, parameters: list[JsonObject] | None, reference_url: str
) -> JsonObject:
    return _result(
        (record.result_code, record.result_desc),
        (record.originator_conversation_id, record.conversation_id),
        record.transaction_id,
        parameters,
        _reference(reference_url),
    )


def _result(
    outcome: tuple[int | str, str],
    conversation_ids: tuple[str, str],
    transaction_id: str,
    parameters: list[JsonObject] | None,
    reference_data: JsonObject,
) -> JsonObject:
    result: JsonObject = {
        "ResultType": 0,
        "ResultCode": outcome[0],
        "ResultDesc": outcome[1],
        "OriginatorConversationID": conversation_ids[0],
        "ConversationID": conversation_ids[1],
        "TransactionID": transaction_id,
    }
    if parameters is not None:
        result["ResultParameters"] = {"ResultParameter": parameters}
    result["ReferenceData"] = reference_data
    return {"Result": result}


def _payout_parameters(payout: Payout) -> list[JsonObject]:
    record, balances = payout.record, payout.balances
    return _parameters(
        ("TransactionAmount", record.amount),
        ("TransactionReceipt", record.transaction_id),
        ("ReceiverPartyPublicName", record.credit_party),
        ("TransactionCompletedDateTime", record.finalised_on.strftime("%d.%m.%Y %H:%M:%S")),
        ("B2CUtilityAccountAvailableFunds", float(balances.utility)),
        ("B2CWorkingAccountAvailableFunds", float(balances.working)),
        ("B2CRecipientIsRegisteredCustomer", "Y"),
        ("B2CChargesPaidAccountAvailableFunds", float(balances.charges_paid)),
    )


def _status_parameters(found: TransactionRecord) -> list[JsonObject]:
    """In the order of Daraja's sample; the second DebitPartyName names the other party. A
    transaction that failed is "Declined", its reason in TransactionReason (Daraja's FAQ lists
    Declined among the states; the exact form of a real one is unconfirmed: sandbox/README)."""
    completed = found.result_code == 0
    reason: JsonObject = {"Key": "TransactionReason"}
    if not completed:
        reason["Value"] = found.result_desc
    return [
        *_parameters(
            ("DebitPartyName", found.debit_party),
            ("DebitPartyName", found.credit_party),
            ("OriginatorConversationID", found.originator_conversation_id),
            ("InitiatedTime", daraja_timestamp(found.initiated_on)),
            ("DebitAccountType", found.debit_account_type),
            ("DebitPartyCharges", found.debit_party_charges),
        ),
        reason,
        *_parameters(
            ("ReasonType", found.reason_type),
            ("TransactionStatus", "Completed" if completed else "Declined"),
            ("FinalisedTime", daraja_timestamp(found.finalised_on)),
            ("Amount", str(found.amount)),
            ("ConversationID", found.conversation_id),
            ("ReceiptNo", found.transaction_id),
            ("CreditPartyName", found.credit_party),
        ),
    ]


def _parameters(*pairs: tuple[str, object]) -> list[JsonObject]:
    return [{"Key": key, "Value": value} for key, value in pairs]


def _reference(url: str) -> JsonObject:
    return {"ReferenceItem": {"Key": "QueueTimeoutURL", "Value": url}}

