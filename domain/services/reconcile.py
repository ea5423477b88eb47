"""The janitor: no payment and no callback stays in doubt. Queued payments are re-sent,
pending ones are asked about on a schedule (STK Query), what the schedule cannot settle is
closed and alerted, and callbacks stored but never processed are processed."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.ports import CallbackInbox
from domain.services.context import Context
from domain.services.payments import first_check_at, wait_another_round

BATCH = 200
MAX_REQUEUES = 10  # a callback that still fails after this many rounds needs a person


def reconcile_payments(ctx: Context, now: datetime) -> dict[str, int]:
    """One janitor round. Every step is idempotent: two rounds at once do no harm."""
    counts = {"requeued": 0, "lost": 0, "queried": 0, "unresolved": 0}
    for payment in ctx.payments.stale_queued(now - timedelta(seconds=ctx.requeue_after_s), BATCH):
        if payment.push_started_at is None:  # the task never ran (lost enqueue, dead worker)
            ctx.tasks.request_stk_push(payment.id)
            counts["requeued"] += 1
        elif now - payment.push_started_at >= timedelta(seconds=ctx.push_lost_after_s):
            # The worker died between claiming the push and recording Daraja's answer (no
            # live push takes this long): the outcome is unknown, never pushed again.
            lost = payment.lost(now, first_check_at(ctx, now))
            ctx.payments.save(lost, expected_version=payment.version)
            counts["lost"] += 1
    for payment in ctx.payments.due_for_check(now, BATCH):
        if payment.checkout_request_id is not None:
            ctx.tasks.query_stk(payment.id)
            counts["queried"] += 1
        elif wait_another_round(ctx, payment, now) is None:
            counts["unresolved"] += 1
    return counts


def requeue_stale_callbacks(ctx: Context, inbox: CallbackInbox, now: datetime) -> int:
    """A callback stored but never processed (its enqueue was lost, or processing keeps
    failing): process it again, and after ``MAX_REQUEUES`` rounds flag it for a person."""
    ids = inbox.stale(now - timedelta(seconds=ctx.requeue_after_s), BATCH)
    for callback_id in ids:
        if inbox.requeued(callback_id) > MAX_REQUEUES:
            inbox.mark(callback_id, "flagged", "processing keeps failing", now)
            ctx.notifier.alert("a stored callback could not be processed after repeated tries",
                               callback=callback_id, tries=str(MAX_REQUEUES))
            continue
        ctx.tasks.process_callback(callback_id)
    return len(ids)
