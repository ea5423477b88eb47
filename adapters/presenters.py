"""The public JSON shape of deals, payments and users (API.md), for the API and the workers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields

from adapters.observability import mask_phones
from domain.deals import Deal, TimelineEvent
from domain.notifications import Notification
from domain.payments import Payment, mask_phone
from domain.users import User


class UserSchema(Schema):
    id = fields.String(required=True)
    email = fields.String(required=True)
    firstName = fields.String(attribute="first_name", required=True)
    lastName = fields.String(attribute="last_name", required=True)
    role = fields.String(required=True)
    phone = fields.Function(lambda u: mask_phone(u.phone) if u.phone else None, allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")


class PaymentSummarySchema(Schema):
    method = fields.String()
    reference = fields.String(allow_none=True)
    status = fields.String()
    paidAt = fields.DateTime(attribute="paid_at", allow_none=True)


class TimelineEventSchema(Schema):
    seq = fields.Integer()
    status = fields.String()
    fromStatus = fields.String(attribute="from_status", allow_none=True)
    event = fields.String()
    actor = fields.String()
    note = fields.String(allow_none=True)
    timestamp = fields.DateTime()


class DisputeSchema(Schema):
    reason = fields.String()
    openedBy = fields.String(attribute="opened_by")
    openedAt = fields.DateTime(attribute="opened_at")
    outcome = fields.String(allow_none=True)
    resolvedBy = fields.String(attribute="resolved_by", allow_none=True)
    resolvedAt = fields.DateTime(attribute="resolved_at", allow_none=True)
    note = fields.String(allow_none=True)


class SettlementSchema(Schema):
    kind = fields.String()
    sellerAmount = fields.Integer(attribute="seller_amount",
                                  metadata={"description": "the seller's share, before the fee"})
    buyerAmount = fields.Integer(attribute="buyer_amount")
    fee = fields.Integer()
    settledAt = fields.DateTime(attribute="settled_at")


class DealSchema(Schema):
    id = fields.String(required=True)
    title = fields.String()
    description = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()
    buyer = fields.String(attribute="buyer_id", metadata={"description": "buyer's user id"})
    seller = fields.String(attribute="seller_id", metadata={"description": "seller's user id"})
    dueDate = fields.DateTime(attribute="due_date", allow_none=True)
    terms = fields.String(allow_none=True)
    inspectionDays = fields.Integer(attribute="inspection_days")
    payment = fields.Nested(PaymentSummarySchema, allow_none=True)
    deliveredAt = fields.DateTime(attribute="delivered_at", allow_none=True)
    inspectionEndsAt = fields.DateTime(attribute="inspection_ends_at", allow_none=True)
    dispute = fields.Nested(DisputeSchema, allow_none=True)
    settlement = fields.Nested(SettlementSchema, allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEventSchema),
                           metadata={"description": "present on single-deal reads"})
    version = fields.Integer()
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


class PaymentSchema(Schema):
    id = fields.String(required=True)
    transactionId = fields.String(attribute="deal_id")
    amount = fields.Integer()
    phone = fields.Function(lambda p: mask_phone(p["phone"]), metadata={"example": "2547****678"})
    status = fields.String()
    method = fields.String()
    checkoutRequestId = fields.String(attribute="checkout_request_id", allow_none=True)
    reference = fields.String(attribute="receipt", allow_none=True,
                              metadata={"description": "the M-Pesa receipt"})
    resultCode = fields.String(attribute="result_code", allow_none=True)
    resultDesc = fields.String(attribute="result_desc", allow_none=True)
    paidAt = fields.DateTime(attribute="paid_at", allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


class NotificationSchema(Schema):
    id = fields.String(required=True)
    kind = fields.String()
    message = fields.String()
    transactionId = fields.String(attribute="deal_id", allow_none=True)
    withdrawalId = fields.String(attribute="payout_id", allow_none=True)
    read = fields.Boolean()
    createdAt = fields.DateTime(attribute="created_at")


class PayoutSchema(Schema):
    id = fields.String(required=True)
    amount = fields.Integer()
    phone = fields.Function(lambda p: mask_phone(p.phone), metadata={"example": "2547****678"})
    status = fields.String()
    reference = fields.String(attribute="receipt", allow_none=True,
                              metadata={"description": "the M-Pesa receipt of the payout"})
    resultCode = fields.String(attribute="result_code", allow_none=True)
    resultDesc = fields.String(attribute="result_desc", allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")
    updatedAt = fields.DateTime(attribute="updated_at")


def present_notification(notification: Notification) -> dict[str, Any]:
    return dict(NotificationSchema().dump(notification))


def deal_view(deal: Deal, timeline: Sequence[TimelineEvent] | None = None) -> dict[str, Any]:
    """The deal as a plain mapping the schema dumps; the timeline only when asked for."""
    view = dataclasses.asdict(deal)
    view.pop("last_event", None)
    if timeline is not None:
        view["timeline"] = [dataclasses.asdict(event) for event in timeline]
    return view


def payment_view(payment: Payment) -> dict[str, Any]:
    return dataclasses.asdict(payment)


def present_deal(deal: Deal, timeline: Sequence[TimelineEvent] | None = None) -> dict[str, Any]:
    return dict(DealSchema().dump(deal_view(deal, timeline)))


def present_payment(payment: Payment) -> dict[str, Any]:
    return dict(PaymentSchema().dump(payment_view(payment)))


def present_user(user: User) -> dict[str, Any]:
    return dict(UserSchema().dump(user))


# What M-Pesa puts in a callback that names a person: masked in every view of a body.
PHONE_KEYS = frozenset({"phonenumber", "partya", "partyb", "msisdn", "receiverparty"})
NAME_KEYS = frozenset({"receiverpartypublicname", "debitpartyname", "creditpartyname",
                       "firstname", "middlename", "lastname", "customername", "name_of_payer"})
TEXT_KEYS = frozenset({"resultdesc", "remarks", "occasion", "billrefnumber"})


def mask_name(name: str) -> str:
    """``John Doe`` → ``J*** D***``; a number in it (``254708374149 - John Doe``) is masked."""
    words = mask_phones(name).split(" ")
    return " ".join(w if not w or "*" in w or not w[0].isalpha() else f"{w[0]}***"
                    for w in words)


def mask_callback_body(body: Any) -> Any:
    """A callback body as M-Pesa sent it, with phone numbers and names masked: by key
    (``PhoneNumber``, ``PartyA``...), by ``{Name|Key, Value}`` item, and any number in free text
    (``ResultDesc``, or a body that is not JSON). Ids are left alone: a CheckoutRequestID or a
    uuid may hold nine digits in a row, and operators search by them."""
    if isinstance(body, dict):
        label = body.get("Name", body.get("Key"))
        masked = {key: _masked_value(key, value) for key, value in body.items()}
        if isinstance(label, str) and "Value" in body:
            masked["Value"] = _masked_value(label, body["Value"])
        return masked
    if isinstance(body, list):
        return [mask_callback_body(item) for item in body]
    if isinstance(body, str):  # the whole body: not JSON
        return mask_phones(body)
    return body


def _masked_value(key: str, value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return mask_callback_body(value)
    if value is None or isinstance(value, bool):
        return value
    if key.lower() in PHONE_KEYS:
        return mask_phone(str(value))
    if key.lower() in NAME_KEYS:
        return mask_name(str(value))
    if key.lower() in TEXT_KEYS and isinstance(value, str):
        return mask_phones(value)
    return value
