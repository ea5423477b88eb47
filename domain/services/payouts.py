"""The workers' half of a withdrawal: send the B2C once, then believe only M-Pesa's word."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from domain.errors import ConcurrencyError
from domain.mpesa import ResultReport, StatusVerdict, status_verdict
from domain.payouts import Payout, PayoutStatus
from domain.ports import B2cGateway, GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from domain.services.context import Context
from domain.services.payments import Outcome
from domain.services.wallet import fail, is_reserved, succeed

QUERY_AFTER_UNKNOWN_S = 30
ALERT_AFTER_CHECKS = 10  # still unknown after this many status queries: a person looks


def send_b2c(ctx: Context, gateway: B2cGateway, payout_id: str) -> Payout | None:
    """Send the payout at most once. A redelivered task after a crash mid-send does not send
    again: the payout becomes ``pending`` and a Transaction Status query decides."""
    payout = ctx.payouts.get(payout_id)
    if payout is None or payout.status is not PayoutStatus.QUEUED:
        return payout
    now = ctx.clock.now()
    if not is_reserved(ctx, payout):
        return fail(ctx, payout, "NOT_RESERVED", "the withdrawal was never reserved")
    if payout.send_started_at is not None:
        return _unknown(ctx, payout, now)
    claimed = payout.sending(now)
    ctx.payouts.save(claimed, expected_version=payout.version)  # one worker wins
    try:
        conversation_id = gateway.pay(claimed)
    except GatewayUnavailable:
        ctx.payouts.save(claimed.send_withdrawn(ctx.clock.now()), claimed.version)
        raise
    except GatewayRejected as refused:
        return fail(ctx, claimed, refused.code, refused.description)
    except GatewayOutcomeUnknown:
        return _unknown(ctx, claimed, ctx.clock.now())
    sent = claimed.sent(conversation_id, ctx.clock.now())
    ctx.payouts.save(sent, expected_version=claimed.version)
    return sent


def _unknown(ctx: Context, payout: Payout, now: datetime) -> Payout:
    pending = payout.sent(None, now)
    ctx.payouts.save(pending, expected_version=payout.version)
    ctx.tasks.query_payout_status(payout.id, QUERY_AFTER_UNKNOWN_S)
    return pending


def apply_b2c_result(ctx: Context, report: ResultReport) -> Outcome:
    payout = ctx.payouts.by_conversation(report.originator_conversation_id)
    if payout is None:
        return Outcome.UNKNOWN_PAYMENT
    if payout.is_final:
        return Outcome.ALREADY_FINAL if _agrees(payout, report.succeeded) else Outcome.MISMATCH
    if payout.status is PayoutStatus.QUEUED:  # the result beat our record of sending it
        raise ConcurrencyError("the payout is still being sent; try the result again")
    if not report.succeeded:
        fail(ctx, payout, report.result_code, report.result_desc)
        return Outcome.FAILED
    amount = report.parameters.get("TransactionAmount")
    if amount is not None and not _same_amount(amount, payout.amount):
        return Outcome.MISMATCH
    receipt = report.transaction_id or _text(report.parameters.get("TransactionReceipt"))
    succeed(ctx, payout, receipt, report.result_code, report.result_desc)
    return Outcome.CREDITED


def apply_b2c_timeout(ctx: Context, report: ResultReport) -> Outcome:
    """A queue timeout proves nothing: ask Transaction Status at once, do not retry the payout."""
    payout = ctx.payouts.by_conversation(report.originator_conversation_id)
    if payout is None:
        return Outcome.UNKNOWN_PAYMENT
    if payout.is_final:
        return Outcome.ALREADY_FINAL
    ctx.tasks.query_payout_status(payout.id, 0)
    return Outcome.STATUS_QUERIED


def check_status(ctx: Context, gateway: B2cGateway, payout_id: str) -> Payout | None:
    payout = ctx.payouts.get(payout_id)
    if payout is None or payout.status is not PayoutStatus.PENDING:
        return payout
    query_id = gateway.query_status(payout)
    ctx.payouts.record_status_query(payout.id, query_id)
    checked = payout.checked(ctx.clock.now())
    ctx.payouts.save(checked, expected_version=payout.version)
    if checked.status_checks == ALERT_AFTER_CHECKS:  # once; the queries go on (money in flight)
        ctx.notifier.alert("payout still unresolved after repeated Transaction Status queries",
                           payout=payout.id, checks=str(checked.status_checks))
    return checked


def apply_status_result(ctx: Context, report: ResultReport) -> Outcome:
    original = _text(report.parameters.get("OriginatorConversationID"))
    payout = (ctx.payouts.by_conversation(original) if original else None) \
        or ctx.payouts.by_conversation(report.originator_conversation_id)
    if payout is None:
        return Outcome.UNKNOWN_PAYMENT
    verdict = status_verdict(report)
    if payout.is_final:
        same = verdict is StatusVerdict.UNKNOWN or _agrees(payout,
                                                           verdict is StatusVerdict.COMPLETED)
        return Outcome.ALREADY_FINAL if same else Outcome.MISMATCH
    if verdict is StatusVerdict.COMPLETED:
        succeed(ctx, payout, _text(report.parameters.get("ReceiptNo")), "0",
                "confirmed by Transaction Status")
        return Outcome.CREDITED
    if verdict is StatusVerdict.FAILED:
        fail(ctx, payout, report.result_code, report.result_desc or "failed per Transaction Status")
        return Outcome.FAILED
    return Outcome.UNKNOWN_PAYMENT  # not known yet: the reconciler asks again later


def reconcile(ctx: Context, now: datetime, pending_after: timedelta,
              queued_after: timedelta) -> dict[str, int]:
    """Ask about payouts with no result, and re-enqueue ones whose task never ran."""
    asked = 0
    for payout in ctx.payouts.stale(PayoutStatus.PENDING.value, now - pending_after, 200):
        ctx.tasks.query_payout_status(payout.id, 0)
        asked += 1
    requeued = 0
    for payout in ctx.payouts.stale(PayoutStatus.QUEUED.value, now - queued_after, 200):
        ctx.tasks.request_b2c(payout.id)
        requeued += 1
    return {"status_queries": asked, "requeued": requeued}


def _agrees(payout: Payout, paid: bool) -> bool:
    return (payout.status is PayoutStatus.SUCCESS) == paid


def _same_amount(reported: object, asked: int) -> bool:
    try:
        value = Decimal(str(reported))
    except InvalidOperation:
        return False
    return value == asked


def _text(value: object) -> str | None:
    return None if value is None else str(value)
