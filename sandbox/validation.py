"""Field-by-field validation of STK push and STK query bodies, in Daraja's order and wording."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.errors import invalid_field, wrong_credentials
from sandbox.fields import digits, json_object, msisdn, required_digits, url, whole_number

TRANSACTION_TYPES = frozenset({"CustomerPayBillOnline", "CustomerBuyGoodsOnline"})
MIN_AMOUNT = 1
MAX_AMOUNT = 250_000
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
    fields = json_object(body)
    shortcode = _check_merchant(fields, config)
    return PushRequest(
        shortcode=shortcode,
        transaction_type=_transaction_type(fields.get("TransactionType")),
        amount=_amount(fields.get("Amount")),
        party_a=msisdn(fields, "PartyA"),
        phone=msisdn(fields, "PhoneNumber"),
        party_b=required_digits(fields, "PartyB"),
        callback_url=url(fields, "CallBackURL", config.strict_callback_url),
        account_reference=_account_reference(fields.get("AccountReference")),
        transaction_desc=_transaction_desc(fields.get("TransactionDesc")),
    )


def parse_query(body: object, config: SandboxConfig) -> str:
    """Validate an STK query body and return the CheckoutRequestID it asks about."""
    fields = json_object(body)
    _check_merchant(fields, config)
    checkout_request_id = fields.get("CheckoutRequestID")
    if not isinstance(checkout_request_id, str) or not checkout_request_id.strip():
        raise invalid_field("CheckoutRequestID")
    return checkout_request_id.strip()


def _check_merchant(fields: dict[str, Any], config: SandboxConfig) -> str:
    """BusinessShortCode, then Timestamp, then Password; returns the shortcode."""
    shortcode = digits(fields.get("BusinessShortCode"))
    if shortcode != config.shortcode:
        raise invalid_field("BusinessShortCode")
    timestamp = digits(fields.get("Timestamp"))
    if timestamp is None or not _is_real_timestamp(timestamp):
        raise invalid_field("Timestamp")
    if fields.get("Password") != stk_password(shortcode, config.passkey, timestamp):
        raise wrong_credentials()
    return shortcode


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
    amount = whole_number(value)
    if amount is None or not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise invalid_field("Amount")
    return amount


def _account_reference(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or not _ACCOUNT_REFERENCE.fullmatch(value):
        raise invalid_field("AccountReference")
    return value


def _transaction_desc(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid_field("Remarks")
    return value
