"""Validation of B2C, Transaction Status and Reversal bodies (daraja.md sections 6-8, 11).

Fields are checked in the order listed here; the first failure is answered with
``400.002.02 Bad Request - Invalid <Field>``. A SecurityCredential that decrypts but does not hold
the initiator password, or an unknown initiator name, is accepted: the result then says 2001.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from sandbox import fields as check
from sandbox.config import SandboxConfig
from sandbox.errors import invalid_field
from sandbox.security import KeyPair

PayoutVersion = Literal["v1", "v3"]

PAYOUT_COMMANDS = frozenset({"BusinessPayment", "SalaryPayment", "PromotionPayment"})
STATUS_COMMAND = "TransactionStatusQuery"
REVERSAL_COMMAND = "TransactionReversal"
STATUS_IDENTIFIER_TYPES = frozenset({"1", "2", "4"})
REVERSAL_IDENTIFIER_TYPES = frozenset({"11", "4"})
MAX_ORIGINATOR_ID_LENGTH = 128
MAX_TEXT_LENGTH = 100


@dataclass(frozen=True)
class PayoutRequest:
    """A B2C payment request that passed validation."""

    version: PayoutVersion
    originator_conversation_id: str | None
    """The caller's (v3); None for v1, where the sandbox makes one up on acceptance."""
    initiator_valid: bool
    command_id: str
    amount: int
    party_a: str
    party_b: str
    remarks: str
    queue_timeout_url: str
    result_url: str
    occasion: str | None


@dataclass(frozen=True)
class StatusRequest:
    initiator_valid: bool
    transaction_id: str | None
    original_conversation_id: str | None
    party_a: str
    identifier_type: str
    result_url: str
    queue_timeout_url: str
    remarks: str
    occasion: str | None


@dataclass(frozen=True)
class ReversalRequest:
    initiator_valid: bool
    transaction_id: str
    amount: int
    receiver_party: str
    receiver_identifier_type: str
    result_url: str
    queue_timeout_url: str
    remarks: str
    occasion: str | None


def parse_payout(
    body: object, version: PayoutVersion, config: SandboxConfig, keys: KeyPair
) -> PayoutRequest:
    fields = check.json_object(body)
    originator_id = None
    if version == "v3":
        originator_id = check.text(fields, "OriginatorConversationID", 1, MAX_ORIGINATOR_ID_LENGTH)
    initiator_valid = _initiator(fields, "InitiatorName", config, keys)
    return PayoutRequest(
        version=version,
        originator_conversation_id=originator_id,
        initiator_valid=initiator_valid,
        command_id=check.choice(fields, "CommandID", PAYOUT_COMMANDS),
        amount=_amount(fields),
        party_a=check.shortcode(fields, "PartyA", {config.b2c_shortcode}),
        party_b=check.msisdn(fields, "PartyB"),
        remarks=check.text(fields, "Remarks", 2, MAX_TEXT_LENGTH),
        queue_timeout_url=check.url(fields, "QueueTimeOutURL", config.strict_callback_url),
        result_url=check.url(fields, "ResultURL", config.strict_callback_url),
        occasion=check.optional_text(
            fields, "Occassion" if version == "v3" else "Occasion", MAX_TEXT_LENGTH
        ),
    )


def parse_status(body: object, config: SandboxConfig, keys: KeyPair) -> StatusRequest:
    fields = check.json_object(body)
    initiator_valid = _initiator(fields, "Initiator", config, keys)
    check.choice(fields, "CommandID", {STATUS_COMMAND})
    transaction_id = _optional_id(fields, "TransactionID")
    original_conversation_id = _optional_id(fields, "OriginalConversationID")
    if transaction_id is None and original_conversation_id is None:
        raise invalid_field("TransactionID")
    return StatusRequest(
        initiator_valid=initiator_valid,
        transaction_id=transaction_id,
        original_conversation_id=original_conversation_id,
        party_a=check.shortcode(fields, "PartyA", {config.b2c_shortcode, config.shortcode}),
        identifier_type=check.choice(fields, "IdentifierType", STATUS_IDENTIFIER_TYPES),
        result_url=check.url(fields, "ResultURL", config.strict_callback_url),
        queue_timeout_url=check.url(fields, "QueueTimeOutURL", config.strict_callback_url),
        remarks=check.text(fields, "Remarks", 1, MAX_TEXT_LENGTH),
        occasion=check.optional_text(fields, "Occasion", MAX_TEXT_LENGTH),
    )


def parse_reversal(body: object, config: SandboxConfig, keys: KeyPair) -> ReversalRequest:
    fields = check.json_object(body)
    initiator_valid = _initiator(fields, "Initiator", config, keys)
    check.choice(fields, "CommandID", {REVERSAL_COMMAND})
    return ReversalRequest(
        initiator_valid=initiator_valid,
        transaction_id=check.text(fields, "TransactionID", 1, MAX_ORIGINATOR_ID_LENGTH).strip(),
        amount=_amount(fields),
        receiver_party=check.shortcode(fields, "ReceiverParty", {config.shortcode}),
        receiver_identifier_type=check.choice(
            fields, "RecieverIdentifierType", REVERSAL_IDENTIFIER_TYPES  # sic: Daraja's spelling
        ),
        result_url=check.url(fields, "ResultURL", config.strict_callback_url),
        queue_timeout_url=check.url(fields, "QueueTimeOutURL", config.strict_callback_url),
        remarks=check.text(fields, "Remarks", 2, MAX_TEXT_LENGTH),
        occasion=check.optional_text(fields, "Occasion", MAX_TEXT_LENGTH),
    )


def _initiator(fields: check.Fields, name_field: str, config: SandboxConfig, keys: KeyPair) -> bool:
    """Check the initiator name and the credential's form; True if both name the initiator.

    A missing name or a credential that is not base64 or not decryptable is refused now; a wrong
    name or password is only known to the result (2001), as with Daraja.
    """
    name = check.text(fields, name_field)
    password = keys.decrypt_credential(fields.get("SecurityCredential"))
    if password is None:
        raise invalid_field("SecurityCredential")
    name_ok = hmac.compare_digest(name.encode(), config.initiator_name.encode())
    password_ok = hmac.compare_digest(password, config.initiator_password.encode())
    return name_ok and password_ok


def _amount(fields: check.Fields) -> int:
    """Whole shillings, at least 1; limits beyond that are the result's business."""
    amount = check.whole_number(fields.get("Amount"))
    if amount is None or amount < 1:
        raise invalid_field("Amount")
    return amount


def _optional_id(fields: check.Fields, name: str) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > MAX_ORIGINATOR_ID_LENGTH:
        raise invalid_field(name)
    return value.strip()
