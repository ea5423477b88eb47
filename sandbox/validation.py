"""Field-by-field validation of STK push and STK query bodies, in Daraja's order and wording."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.callback_url import is_acceptable_callback_url
from sandbox.config import SandboxConfig
from sandbox.errors import invalid_field, invalid_payload, wrong_credentials

TRANSACTION_TYPES = frozenset({"CustomerPayBillOnline", "CustomerBuyGoodsOnline"})
MIN_AMOUNT = 1
MAX_AMOUNT = 250_000
_DIGITS = re.compile(r"[0-9]+")
_MSISDN = re.compile(r"254[17][0-9]{8}")
_TIMESTAMP = re.compile(r"[0-9]{14}")
_ACCOUNT_REFERENCE = re.compile(r"[A-Za-z0-9 _-]{1,12}")


@dataclass(frozen=True)
class PushRequest:
    """An STK push that passed validation; numeric fields normalised to digit strings."""

    shortcode: str
    transaction_type: str
    amount: int
    party_a: str
    phone: str
    party_b: str
    callback_url: str
    account_reference: str
    transaction_desc: str


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """``base64(BusinessShortCode + Passkey + Timestamp)``."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode("ascii")).decode("ascii")


def parse_push(body: object, config: SandboxConfig) -> PushRequest:
    fields = _json_object(body)
    shortcode = _check_merchant(fields, config)
    return PushRequest(
        shortcode=shortcode,
        transaction_type=_transaction_type(fields.get("TransactionType")),
        amount=_amount(fields.get("Amount")),
        party_a=_msisdn(fields, "PartyA"),
        phone=_msisdn(fields, "PhoneNumber"),
        party_b=_required_digits(fields, "PartyB"),
        callback_url=_callback_url(fields.get("CallBackURL"), config.strict_callback_url),
        account_reference=_account_reference(fields.get("AccountReference")),
        transaction_desc=_transaction_desc(fields.get("TransactionDesc")),
    )


def parse_query(body: object, config: SandboxConfig) -> str:
    """Validate an STK query body and return the CheckoutRequestID it asks about."""
    fields = _json_object(body)
    _check_merchant(fields, config)
    checkout_request_id = fields.get("CheckoutRequestID")
    if not isinstance(checkout_request_id, str) or not checkout_request_id.strip():
        raise invalid_field("CheckoutRequestID")
    return checkout_request_id.strip()


def _json_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_payload()
    return body


def _check_merchant(fields: dict[str, Any], config: SandboxConfig) -> str:
    """BusinessShortCode, then Timestamp, then Password; returns the shortcode."""
    shortcode = _digits(fields.get("BusinessShortCode"))
    if shortcode != config.shortcode:
        raise invalid_field("BusinessShortCode")
    timestamp = _digits(fields.get("Timestamp"))
    if timestamp is None or not _is_real_timestamp(timestamp):
        raise invalid_field("Timestamp")
    if fields.get("Password") != stk_password(shortcode, config.passkey, timestamp):
        raise wrong_credentials()
    return shortcode


def _digits(value: object) -> str | None:
    """A JSON number or digit string as its digits; anything else as None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value
    return None


def _is_real_timestamp(timestamp: str) -> bool:
    if not _TIMESTAMP.fullmatch(timestamp):
        return False
    try:
        datetime.strptime(timestamp, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def _transaction_type(value: object) -> str:
    if not isinstance(value, str) or value not in TRANSACTION_TYPES:
        raise invalid_field("TransactionType")
    return value


def _amount(value: object) -> int:
    """Whole shillings as a number or digit string; decimals such as 10.5 or "10.50" rejected."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    digits = _digits(value)
    if digits is None or not MIN_AMOUNT <= int(digits) <= MAX_AMOUNT:
        raise invalid_field("Amount")
    return int(digits)


def _msisdn(fields: dict[str, Any], name: str) -> str:
    digits = _digits(fields.get(name))
    if digits is None or not _MSISDN.fullmatch(digits):
        raise invalid_field(name)
    return digits


def _required_digits(fields: dict[str, Any], name: str) -> str:
    digits = _digits(fields.get(name))
    if digits is None:
        raise invalid_field(name)
    return digits


def _callback_url(value: object, strict: bool) -> str:
    if not isinstance(value, str) or not is_acceptable_callback_url(value, strict):
        raise invalid_field("CallBackURL")
    return value


def _account_reference(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or not _ACCOUNT_REFERENCE.fullmatch(value):
        raise invalid_field("AccountReference")
    return value


def _transaction_desc(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid_field("Remarks")
    return value
