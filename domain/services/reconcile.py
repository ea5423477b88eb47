"""The janitor: no payment stays in doubt. Queued ones are re-sent, pending ones are asked
about on a schedule (STK Query), and what the schedule cannot settle is closed and alerted."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.payments import Payment, PaymentStatus
from domain.ports import CallbackInbox, GatewayRejected, StkGateway
from domain.services.context import Context
from domain.services.payments import first_check_at, fund_deal, tell_failed

UNRESOLVED = "UNRESOLVED"
BATCH = 200


def reconcile_payments(ctx: Context, now: datetime) -> dict[str, int]:
    """One janitor round. Every step is idempotent: two rounds at once do no harm."""
    counts = {"requeued": 0, "lost": 0, "queried": 0, "unresolved": 0}
    for payment in ctx.payments.stale_queued(now - timedelta(seconds=ctx.requeue_after_s), BATCH):
        if payment.push_started_at is None:  # the task never ran (lost enqueue, dead worker)
            ctx.tasks.request_stk_push(payment.id)
            counts["requeued"] += 1
        else:  # a worker died between claiming the push and recording Daraja's answer
            lost = payment.lost(now, first_check_at(ctx, now))
            ctx.payments.save(lost, expected_version=payment.version)
            counts["lost"] += 1
    for payment in ctx.payments.due_for_check(now, BATCH):
        if payment.checkout_request_id is not None:
            ctx.tasks.query_stk(payment.id)
            counts["queried"] += 1
        elif _wait_another_round(ctx, payment, now) is None:
            counts["unresolved"] += 1
    return counts


def requeue_stale_callbacks(ctx: Context, inbox: CallbackInbox, now: datetime) -> int:
    """A callback stored but never processed (its enqueue was lost): process it now."""
    ids = inbox.stale(now - timedelta(seconds=ctx.requeue_after_s), BATCH)
    for callback_id in ids:
        ctx.tasks.process_callback(callback_id)
    return len(ids)


def query_stk(ctx: Context, gateway: StkGateway, payment_id: str) -> Payment | None:
    """Ask M-Pesa about one pending push; the first final answer closes it."""
    payment = ctx.payments.get(payment_id)
    if payment is None or payment.status is not PaymentStatus.PENDING \
            or payment.checkout_request_id is None:
        return payment
    try:
        status = gateway.query(payment)
    except GatewayRejected:  # Daraja does not know the id (yet): treat it as pending
        return _wait_another_round(ctx, payment, ctx.clock.now())
    if status.pending:
        return _wait_another_round(ctx, payment, ctx.clock.now())
    now = ctx.clock.now()
    confirmed = payment.confirmed(status.result_code or "", status.result_desc or "", now)
    ctx.payments.save(confirmed, expected_version=payment.version)
    if confirmed.status is PaymentStatus.SUCCESS:
        fund_deal(ctx, confirmed)
    else:
        tell_failed(ctx, confirmed)
    return confirmed


def _wait_another_round(ctx: Context, payment: Payment, now: datetime) -> Payment | None:
    """Schedule the next check, or close the payment when the schedule has run out."""
    delays = ctx.stk_query_delays_s
    following = payment.checks + 1
    next_at = now + timedelta(seconds=delays[following]) if following < len(delays) else None
    checked = payment.checked(now, next_at)
    ctx.payments.save(checked, expected_version=payment.version)
    if next_at is not None:
        return checked
    closed = checked.confirmed(UNRESOLVED, "no final answer from M-Pesa within the "
                               "reconciliation schedule", now)
    ctx.payments.save(closed, expected_version=checked.version)
    ctx.notifier.alert("STK payment unresolved after the whole query schedule",
                       payment=closed.id, deal=closed.deal_id, checks=str(closed.checks))
    tell_failed(ctx, closed)
    return None
