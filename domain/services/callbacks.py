"""Processing what M-Pesa POSTed to us, once it is safely stored. A callback is a claim: the
payment's and the payout's own services verify it with M-Pesa before anything moves."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum

from domain.errors import Forbidden
from domain.mpesa import MalformedCallback, parse_result, parse_stk_callback
from domain.payments import PaymentOutcome
from domain.ports import CallbackInbox, StkGateway
from domain.services import payments, payouts
from domain.services.context import Context
from domain.services.payouts import PayoutOutcome
from domain.users import User


class CallbackStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FLAGGED = "flagged"  # moved no money on its word; an operator should look at it


class Kind(StrEnum):
    STK = "stk"
    B2C_RESULT = "b2c_result"
    B2C_TIMEOUT = "b2c_timeout"
    STATUS_RESULT = "status_result"
    STATUS_TIMEOUT = "status_timeout"


class NotYetMatched(Exception):
    """Too early to tell: the callback names an id we have not stored yet (it may beat our own
    write), or M-Pesa cannot confirm it yet. Try again shortly."""


# Only what needs a person is flagged; repeats and "not known yet" are routine.
NEEDS_A_PERSON = {
    PaymentOutcome.UNKNOWN_PAYMENT, PaymentOutcome.MISMATCH, PaymentOutcome.CONTRADICTED,
    PaymentOutcome.UNVERIFIED, PaymentOutcome.LATE_CREDIT, PaymentOutcome.AWAITING,
    PayoutOutcome.UNKNOWN_PAYOUT, PayoutOutcome.MISMATCH, PayoutOutcome.CONTRADICTED,
    PayoutOutcome.STRANGE_STATE,
}
TOO_EARLY = {PaymentOutcome.UNKNOWN_PAYMENT, PaymentOutcome.AWAITING,
             PayoutOutcome.UNKNOWN_PAYOUT}


Outcome = PaymentOutcome | PayoutOutcome


def process_callback(ctx: Context, inbox: CallbackInbox, gateway: StkGateway,
                     callback_id: str, wait_for_match: bool) -> str:
    """Parse, verify and apply one stored callback; returns the outcome recorded.

    Only a body that cannot be read is "malformed"; any other error is a fault of ours and
    propagates (the task retries it, the janitor requeues it, an alert follows in the end)."""
    item = inbox.get(callback_id)
    if item is None:
        return "missing"
    try:
        body = json.loads(item.raw, parse_float=Decimal)
        kind = Kind(item.kind)
        parsed = PARSERS[kind](body)
    except (MalformedCallback, ValueError) as error:  # not JSON, not a known kind, not shaped
        inbox.mark(item.id, CallbackStatus.FLAGGED, f"malformed: {error}", ctx.clock.now())
        return "malformed"
    outcome = HANDLERS[kind](ctx, gateway, parsed)
    if outcome in TOO_EARLY and wait_for_match:
        raise NotYetMatched(f"{kind.value} {callback_id}: {outcome.value}")
    status = CallbackStatus.FLAGGED if outcome in NEEDS_A_PERSON else CallbackStatus.PROCESSED
    inbox.mark(item.id, status, outcome.value, ctx.clock.now())
    return outcome.value


def stored_callbacks(inbox: CallbackInbox, user: User, status: str | None, page: int,
                     limit: int) -> tuple[Sequence[Mapping[str, object]], int]:
    """For admins: stored callbacks, newest first, by status (the flagged ones by default)."""
    if not user.is_admin:
        raise Forbidden("only admins review callbacks")
    return inbox.find(status, page, limit)


def _stk(ctx: Context, gateway: StkGateway, result: object) -> Outcome:
    return payments.settle_stk_result(ctx, gateway, result).outcome  # type: ignore[arg-type]


def _b2c_result(ctx: Context, gateway: StkGateway, report: object) -> Outcome:
    return payouts.apply_b2c_result(ctx, report)  # type: ignore[arg-type]


def _b2c_timeout(ctx: Context, gateway: StkGateway, report: object) -> Outcome:
    return payouts.apply_b2c_timeout(ctx, report)  # type: ignore[arg-type]


def _status_result(ctx: Context, gateway: StkGateway, report: object) -> Outcome:
    return payouts.apply_status_result(ctx, report)  # type: ignore[arg-type]


def _status_timeout(ctx: Context, gateway: StkGateway, report: object) -> Outcome:
    return PayoutOutcome.STATUS_QUERIED  # the reconciler asks again


PARSERS: dict[Kind, Callable[[object], object]] = {
    Kind.STK: parse_stk_callback, Kind.B2C_RESULT: parse_result, Kind.B2C_TIMEOUT: parse_result,
    Kind.STATUS_RESULT: parse_result, Kind.STATUS_TIMEOUT: parse_result,
}
HANDLERS: dict[Kind, Callable[[Context, StkGateway, object], Outcome]] = {
    Kind.STK: _stk, Kind.B2C_RESULT: _b2c_result, Kind.B2C_TIMEOUT: _b2c_timeout,
    Kind.STATUS_RESULT: _status_result, Kind.STATUS_TIMEOUT: _status_timeout,
}
