"""M-Pesa Daraja rules that need no I/O: STK credentials and parsing what M-Pesa sends."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import StrEnum

EAT = timezone(timedelta(hours=3), "EAT")  # Daraja timestamps are Kenyan local time
SUCCESS = "0"


def stk_timestamp(now: datetime) -> str:
    """``yyyyMMddHHmmss`` in East Africa Time, as STK push and query want it."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(EAT).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """``base64(shortcode + passkey + timestamp)``: the three must match the request body."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode("ascii")).decode("ascii")


def stk_credentials(shortcode: str, passkey: str, now: datetime) -> tuple[str, str]:
    """Timestamp and Password built together from the same instant."""
    timestamp = stk_timestamp(now)
    return timestamp, stk_password(shortcode, passkey, timestamp)


def account_reference(deal_id: str) -> str:
    """A ≤ 12-character alphanumeric reference shown in the customer's prompt."""
    kept = "".join(ch for ch in deal_id.upper() if ch.isascii() and ch.isalnum())
    return "ESC" + kept[-9:]


class MalformedCallback(ValueError):
    """A body that is not shaped like an STK callback."""


@dataclass(frozen=True)
class StkResult:
    """The outcome M-Pesa reports for one STK push, with codes as strings."""

    checkout_request_id: str
    merchant_request_id: str | None
    result_code: str
    result_desc: str
    amount: Decimal | None = None
    receipt: str | None = None
    phone: str | None = None
    transaction_date: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result_code == SUCCESS


def normalise_code(value: object) -> str:
    """ResultCode is an int in callbacks and a string in query answers: compare as strings."""
    if isinstance(value, bool) or value is None:
        raise MalformedCallback("ResultCode is missing")
    return str(value).strip()


def parse_stk_callback(body: object) -> StkResult:
    """Read an STK callback by item Name, every item optional, amounts as Decimal."""
    try:
        callback = body["Body"]["stkCallback"]  # type: ignore[index]
    except (KeyError, TypeError):
        raise MalformedCallback("no Body.stkCallback") from None
    if not isinstance(callback, Mapping):
        raise MalformedCallback("stkCallback is not an object")
    checkout_id = callback.get("CheckoutRequestID")
    if not isinstance(checkout_id, str) or not checkout_id:
        raise MalformedCallback("CheckoutRequestID is missing")
    items = _items(callback.get("CallbackMetadata"))
    merchant_id = callback.get("MerchantRequestID")
    return StkResult(
        checkout_request_id=checkout_id,
        merchant_request_id=merchant_id if isinstance(merchant_id, str) else None,
        result_code=normalise_code(callback.get("ResultCode")),
        result_desc=str(callback.get("ResultDesc") or ""),
        amount=_decimal(items.get("Amount")),
        receipt=_text(items.get("MpesaReceiptNumber")),
        phone=_text(items.get("PhoneNumber")),
        transaction_date=_text(items.get("TransactionDate")),
    )


def _items(metadata: object) -> dict[str, object]:
    if not isinstance(metadata, Mapping):
        return {}
    items = metadata.get("Item")
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        return {}
    found: dict[str, object] = {}
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("Name"), str) and "Value" in item:
            found[item["Name"]] = item["Value"]
    return found


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise MalformedCallback(f"Amount {value!r} is not a number") from None
    if not number.is_finite():
        raise MalformedCallback(f"Amount {value!r} is not a finite number")
    return number


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    return str(value)


@dataclass(frozen=True)
class ResultReport:
    """A ``{"Result": …}`` body: B2C results, queue timeouts, status and reversal results."""

    originator_conversation_id: str
    conversation_id: str | None
    result_code: str
    result_desc: str
    transaction_id: str | None
    parameters: Mapping[str, object]

    @property
    def succeeded(self) -> bool:
        return self.result_code == SUCCESS


def parse_result(body: object) -> ResultReport:
    """Read a Result body by parameter Key, every parameter optional, codes as strings."""
    try:
        result = body["Result"]  # type: ignore[index]
    except (KeyError, TypeError):
        raise MalformedCallback("no Result") from None
    if not isinstance(result, Mapping):
        raise MalformedCallback("Result is not an object")
    originator = result.get("OriginatorConversationID")
    if not isinstance(originator, str) or not originator:
        raise MalformedCallback("OriginatorConversationID is missing")
    conversation = result.get("ConversationID")
    transaction = result.get("TransactionID")
    return ResultReport(
        originator_conversation_id=originator,
        conversation_id=conversation if isinstance(conversation, str) and conversation else None,
        result_code=normalise_code(result.get("ResultCode")),
        result_desc=str(result.get("ResultDesc") or ""),
        transaction_id=transaction if isinstance(transaction, str) and transaction else None,
        parameters=_parameters(result.get("ResultParameters")),
    )


def _parameters(block: object) -> dict[str, object]:
    items = block.get("ResultParameter") if isinstance(block, Mapping) else None
    if isinstance(items, Mapping):
        items = [items]
    found: dict[str, object] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("Key"), str) and "Value" in item:
            found.setdefault(item["Key"], item["Value"])  # the first of a repeated key wins
    return found


class StatusVerdict(StrEnum):
    COMPLETED = "completed"  # the money moved
    FAILED = "failed"  # it did not, and will not
    UNKNOWN = "unknown"  # not (yet) known: ask again later
    STRANGE = "strange"  # a state we do not know: a person decides, nothing moves


NOT_FOUND = "2032"
IN_FLIGHT_STATES = {"initiated", "authorized", "pending authorized", "pending"}
# The only states that return money to a wallet: an allow-list, so that a new or misspelt
# state can never refund a payout that was paid (that would pay the customer twice).
FAILED_STATES = {"cancelled", "canceled", "declined", "expired", "failed"}


def status_verdict(report: ResultReport) -> StatusVerdict:
    """What a Transaction Status result says about the transaction it was asked about."""
    if not report.succeeded:
        # The query itself failed (not found yet, our initiator refused, system busy…): that
        # proves nothing about the payout. Refunding on it could pay the customer twice.
        return StatusVerdict.UNKNOWN
    state = str(report.parameters.get("TransactionStatus") or "").strip().lower()
    if state == "completed":
        return StatusVerdict.COMPLETED
    if not state or state in IN_FLIGHT_STATES:
        return StatusVerdict.UNKNOWN
    if state in FAILED_STATES:
        return StatusVerdict.FAILED
    return StatusVerdict.STRANGE
