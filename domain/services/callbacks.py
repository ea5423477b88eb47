"""Processing what M-Pesa POSTed to us, once it is safely stored."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum

from domain.mpesa import MalformedCallback, StkResult, parse_stk_callback
from domain.payments import PaymentStatus
from domain.ports import CallbackInbox
from domain.services.context import Context
from domain.services.payments import Outcome, Settlement, settle_stk_result


class CallbackStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FLAGGED = "flagged"  # moved no money; an operator should look at it


class NotYetMatched(Exception):
    """The callback names a CheckoutRequestID we have not stored yet (it may beat our write)."""


def process_stk_callback(ctx: Context, inbox: CallbackInbox, callback_id: str,
                         wait_for_match: bool) -> str:
    """Parse, verify and apply one stored STK callback; returns the outcome recorded."""
    item = inbox.get(callback_id)
    if item is None:
        return "missing"
    try:
        result = parse_stk_callback(json.loads(item.raw, parse_float=Decimal))
    except (ValueError, MalformedCallback) as error:
        inbox.mark(item.id, CallbackStatus.FLAGGED, f"malformed: {error}", ctx.clock.now())
        return "malformed"
    settlement = settle_stk_result(ctx, result)
    if settlement.outcome is Outcome.UNKNOWN_PAYMENT and wait_for_match:
        raise NotYetMatched(result.checkout_request_id)
    status = CallbackStatus.FLAGGED if _suspicious(settlement, result) else CallbackStatus.PROCESSED
    inbox.mark(item.id, status, settlement.outcome.value, ctx.clock.now())
    return settlement.outcome.value


def _suspicious(settlement: Settlement, result: StkResult) -> bool:
    if settlement.outcome in (Outcome.UNKNOWN_PAYMENT, Outcome.MISMATCH,
                              Outcome.CREDITED_TO_WALLET):
        return True
    if settlement.outcome is Outcome.ALREADY_FINAL and settlement.payment is not None:
        return not _agrees(settlement.payment.status, settlement.payment.receipt, result)
    return False


def _agrees(status: PaymentStatus, receipt: str | None, result: StkResult) -> bool:
    """A repeat of what we already applied (say, after a crash) is not news."""
    if result.succeeded:
        return status is PaymentStatus.SUCCESS and receipt == result.receipt
    return status is PaymentStatus.FAILED
