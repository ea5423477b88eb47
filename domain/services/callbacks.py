"""Processing what M-Pesa POSTed to us, once it is safely stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum

from domain.mpesa import MalformedCallback, StkResult, parse_result, parse_stk_callback
from domain.payments import PaymentStatus
from domain.ports import CallbackInbox
from domain.services import payouts
from domain.services.context import Context
from domain.services.payments import Outcome, Settlement, settle_stk_result


class CallbackStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FLAGGED = "flagged"  # moved no money; an operator should look at it


class Kind(StrEnum):
    STK = "stk"
    B2C_RESULT = "b2c_result"
    B2C_TIMEOUT = "b2c_timeout"
    STATUS_RESULT = "status_result"
    STATUS_TIMEOUT = "status_timeout"


class NotYetMatched(Exception):
    """The callback names a CheckoutRequestID we have not stored yet (it may beat our write)."""


SUSPICIOUS = {Outcome.UNKNOWN_PAYMENT, Outcome.MISMATCH, Outcome.CREDITED_TO_WALLET,
              Outcome.LATE_CREDIT}


def process_callback(ctx: Context, inbox: CallbackInbox, callback_id: str,
                     wait_for_match: bool) -> str:
    """Parse, verify and apply one stored callback; returns the outcome recorded."""
    item = inbox.get(callback_id)
    if item is None:
        return "missing"
    try:
        body = json.loads(item.raw, parse_float=Decimal)
        outcome = HANDLERS[Kind(item.kind)](ctx, body, wait_for_match)
    except (ValueError, MalformedCallback) as error:
        inbox.mark(item.id, CallbackStatus.FLAGGED, f"malformed: {error}", ctx.clock.now())
        return "malformed"
    status = CallbackStatus.FLAGGED if outcome in SUSPICIOUS else CallbackStatus.PROCESSED
    inbox.mark(item.id, status, outcome.value, ctx.clock.now())
    return outcome.value


def process_stk_callback(ctx: Context, inbox: CallbackInbox, callback_id: str,
                         wait_for_match: bool) -> str:
    return process_callback(ctx, inbox, callback_id, wait_for_match)


def _stk(ctx: Context, body: object, wait_for_match: bool) -> Outcome:
    result = parse_stk_callback(body)
    settlement = settle_stk_result(ctx, result)
    if settlement.outcome is Outcome.UNKNOWN_PAYMENT and wait_for_match:
        raise NotYetMatched(result.checkout_request_id)
    if settlement.outcome is Outcome.ALREADY_FINAL and not _repeats(settlement, result):
        return Outcome.MISMATCH  # contradicts what we already settled
    return settlement.outcome


def _repeats(settlement: Settlement, result: StkResult) -> bool:
    """A repeat of what we already applied (say, after a crash) is not news."""
    payment = settlement.payment
    if payment is None:
        return False
    if result.succeeded:
        return payment.status is PaymentStatus.SUCCESS and payment.receipt == result.receipt
    return payment.status is PaymentStatus.FAILED


def _b2c_result(ctx: Context, body: object, wait_for_match: bool) -> Outcome:
    return payouts.apply_b2c_result(ctx, parse_result(body))


def _b2c_timeout(ctx: Context, body: object, wait_for_match: bool) -> Outcome:
    return payouts.apply_b2c_timeout(ctx, parse_result(body))


def _status_result(ctx: Context, body: object, wait_for_match: bool) -> Outcome:
    return payouts.apply_status_result(ctx, parse_result(body))


def _status_timeout(ctx: Context, body: object, wait_for_match: bool) -> Outcome:
    parse_result(body)  # the reconciler will ask again
    return Outcome.STATUS_QUERIED


HANDLERS: dict[Kind, Callable[[Context, object, bool], Outcome]] = {
    Kind.STK: _stk, Kind.B2C_RESULT: _b2c_result, Kind.B2C_TIMEOUT: _b2c_timeout,
    Kind.STATUS_RESULT: _status_result, Kind.STATUS_TIMEOUT: _status_timeout,
}
