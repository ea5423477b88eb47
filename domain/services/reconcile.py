"""The janitor: no payment and no callback stays in doubt. Queued payments are re-sent,
pending ones are asked about on a schedule (STK Query), what the schedule cannot settle is
closed and alerted, and callbacks stored but never processed are processed."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.ports import CallbackInbox
from domain.services.context import Context
from domain.services.payments import finish, first_check_at, wait_another_round

BATCH = 200
ALERT_AFTER_REQUEUES = 10  # still failing after this many rounds: a person should look
GIVE_UP_AFTER = timedelta(days=1)  # an outage of M-Pesa or of ours is waited out this long


def reconcile_payments(ctx: Context, now: datetime) -> dict[str, int]:
    """One janitor round. Every step is idempotent: two rounds at once do no harm."""
    counts = {"requeued": 0, "lost": 0, "queried": 0, "unresolved": 0, "finished": 0}
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
    # A final payment whose deal was never funded (or whose buyer was never told): a crash,
    # or a task whose retries ran out, between the status and its consequences.
    for payment in ctx.payments.unfinished(now - timedelta(seconds=ctx.requeue_after_s), BATCH):
        finish(ctx, payment)
        counts["finished"] += 1
    return counts


def requeue_stale_callbacks(ctx: Context, inbox: CallbackInbox, now: datetime) -> int:
    """A callback stored but never processed (its enqueue was lost, or processing keeps
    failing, say while M-Pesa is down): process it again. After ``ALERT_AFTER_REQUEUES``
    rounds a person is alerted; after ``GIVE_UP_AFTER`` it is flagged and left to them."""
    ids = inbox.stale(now - timedelta(seconds=ctx.requeue_after_s), BATCH)
    for callback_id in ids:
        item = inbox.get(callback_id)
        if item is not None and now - item.received_at > GIVE_UP_AFTER:
            inbox.mark(callback_id, "flagged", "processing keeps failing", now)
            continue
        if inbox.requeued(callback_id) == ALERT_AFTER_REQUEUES:
            ctx.notifier.alert("a stored callback could not be processed after repeated tries",
                               callback=callback_id, tries=str(ALERT_AFTER_REQUEUES))
        ctx.tasks.process_callback(callback_id)
    return len(ids)
