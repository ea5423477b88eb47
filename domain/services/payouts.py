"""A payout's whole life: send the B2C once, then believe only M-Pesa's answer to our own
Transaction Status query. A B2C result is a claim that makes us ask, never proof; money is
posted before the status that depends on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain import ledger
from domain.errors import ConcurrencyError
from domain.ledger import PostingConflict
from domain.mpesa import ResultReport, StatusVerdict, status_verdict
from domain.payouts import Payout, PayoutStatus
from domain.ports import B2cGateway, GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from domain.services.announce import kes, tell, wallet_moved
from domain.services.context import Context
from domain.services.wallet import RESERVE_GRACE, is_reserved

QUERY_AFTER_UNKNOWN_S = 30
ALERT_AFTER_CHECKS = 10  # still unknown after this many status queries: a person looks
BATCH = 200


class PayoutOutcome(StrEnum):
    """What one B2C or Transaction Status result did to a payout."""

    VERIFYING = "verifying"  # a B2C result claimed an outcome: our status query will tell
    PAID = "paid"  # M-Pesa's status answer: the customer has the money
    RETURNED = "returned"  # M-Pesa's status answer: not paid; the money is back in the wallet
    REPEAT = "repeat"  # agrees with what we already applied
    NOT_KNOWN_YET = "not_known_yet"  # the status query could not tell yet: asked again later
    STATUS_QUERIED = "status_queried"  # a queue timeout: a status query was sent
    STRANGE_STATE = "strange_state"  # a status we do not know: nothing moved, a person decides
    CONTRADICTED = "contradicted"  # disagrees with M-Pesa's confirmed answer: nothing moved
    MISMATCH = "mismatch"  # not what we sent (amount, transaction): nothing moved
    UNKNOWN_PAYOUT = "unknown_payout"  # names nothing we sent


def send_b2c(ctx: Context, gateway: B2cGateway, payout_id: str) -> Payout | None:
    """Send the payout at most once. A redelivered task after a crash mid-send does not send
    again: the payout becomes ``pending`` and a Transaction Status query decides."""
    payout = ctx.payouts.get(payout_id)
    if payout is None or payout.status is not PayoutStatus.QUEUED:
        return payout
    now = ctx.clock.now()
    if not is_reserved(ctx, payout):
        if now - payout.created_at < RESERVE_GRACE:
            return payout  # its request may still be reserving; the reconciler comes back
        return _fail(ctx, payout, "NOT_RESERVED", "the withdrawal was never reserved")
    if payout.send_started_at is not None:
        return _unknown(ctx, payout, now)
    claimed = payout.sending(now)
    ctx.payouts.save(claimed, expected_version=payout.version)  # one worker wins
    try:
        conversation_id = gateway.pay(claimed)
    except GatewayUnavailable:
        ctx.payouts.save(claimed.send_withdrawn(ctx.clock.now()), claimed.version)
        raise
    except GatewayRejected as refused:  # Daraja's own synchronous answer: nothing was sent
        return _fail(ctx, claimed, refused.code, refused.description)
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


def apply_b2c_result(ctx: Context, report: ResultReport) -> PayoutOutcome:
    """A B2C result only makes us ask Transaction Status: it never moves money itself."""
    payout = ctx.payouts.by_conversation(report.originator_conversation_id)
    if payout is None:
        return PayoutOutcome.UNKNOWN_PAYOUT
    if payout.is_final:
        return PayoutOutcome.REPEAT if _agrees(payout, report.succeeded) \
            else PayoutOutcome.CONTRADICTED
    if payout.status is PayoutStatus.QUEUED:  # the result beat our record of sending it
        raise ConcurrencyError("the payout is still being sent; try the result again")
    amount = report.parameters.get("TransactionAmount")
    if report.succeeded and amount is not None and not _same_amount(amount, payout.amount):
        return PayoutOutcome.MISMATCH
    ctx.tasks.query_payout_status(payout.id, 0)
    return PayoutOutcome.VERIFYING


def apply_b2c_timeout(ctx: Context, report: ResultReport) -> PayoutOutcome:
    """A queue timeout proves nothing: ask Transaction Status at once, do not retry the payout."""
    payout = ctx.payouts.by_conversation(report.originator_conversation_id)
    if payout is None:
        return PayoutOutcome.UNKNOWN_PAYOUT
    if payout.is_final:
        return PayoutOutcome.REPEAT
    ctx.tasks.query_payout_status(payout.id, 0)
    return PayoutOutcome.STATUS_QUERIED


def check_status(ctx: Context, gateway: B2cGateway, payout_id: str) -> Payout | None:
    """Send a Transaction Status query about a pending payout (the answer is a callback)."""
    payout = ctx.payouts.get(payout_id)
    if payout is None or payout.status is not PayoutStatus.PENDING:
        return payout
    if _finish_from_ledger(ctx, payout):
        return ctx.payouts.get(payout_id)
    checked = payout.checked(ctx.clock.now())  # counted before asking: a query that itself
    if checked.status_checks == ALERT_AFTER_CHECKS:  # keeps failing counts too. Alerted before
        ctx.notifier.alert(  # the count is saved, so a crash repeats it rather than losing it
            "payout still unresolved after repeated Transaction Status queries",
            payout=payout.id, checks=str(checked.status_checks))
    ctx.payouts.save(checked, expected_version=payout.version)  # the queries go on
    query_id = gateway.query_status(payout)
    ctx.payouts.record_status_query(payout.id, query_id)
    return checked


def apply_status_result(ctx: Context, report: ResultReport) -> PayoutOutcome:
    """M-Pesa's answer to a query we sent, matched by the query's own id (which only Daraja
    and we know), about the transaction we sent: the one word that settles a payout."""
    payout = ctx.payouts.by_status_query(report.originator_conversation_id)
    if payout is None:
        return PayoutOutcome.UNKNOWN_PAYOUT
    named = report.parameters.get("OriginatorConversationID")
    amount = report.parameters.get("Amount")
    if (named is not None and str(named) != payout.originator_conversation_id) or (
            amount is not None and not _same_amount(amount, payout.amount)):
        return PayoutOutcome.MISMATCH
    verdict = status_verdict(report)
    if verdict is StatusVerdict.STRANGE:
        ctx.notifier.alert("Transaction Status reported a state we do not know",
                           payout=payout.id, state=str(report.parameters.get("TransactionStatus")))
        return PayoutOutcome.STRANGE_STATE
    if verdict is StatusVerdict.UNKNOWN:
        return PayoutOutcome.NOT_KNOWN_YET
    paid = verdict is StatusVerdict.COMPLETED
    if payout.is_final:
        if not _agrees(payout, paid):
            return _contradiction(ctx, payout)
        _announce(ctx, payout)  # a no-op unless a crash lost the notice
        return PayoutOutcome.REPEAT
    if paid:
        receipt = report.parameters.get("ReceiptNo")
        done = _succeed(ctx, payout, None if receipt is None else str(receipt))
    else:
        state = str(report.parameters.get("TransactionStatus")).strip()
        reason = report.parameters.get("TransactionReason")
        done = _fail(ctx, payout, state.upper(),
                     f"{state}: {reason}" if reason else f"{state} per Transaction Status")
    if not done.is_final:  # the other outcome holds the payout's posting: nothing moved
        return PayoutOutcome.CONTRADICTED
    return PayoutOutcome.PAID if paid else PayoutOutcome.RETURNED


def reconcile(ctx: Context, now: datetime, pending_after: timedelta,
              queued_after: timedelta) -> dict[str, int]:
    """Ask about payouts with no result, re-enqueue ones whose task never ran, and finish
    any whose outcome was posted but whose status a crash left behind."""
    counts = {"status_queries": 0, "requeued": 0, "repaired": 0}
    for payout in ctx.payouts.stale(PayoutStatus.PENDING.value, now - pending_after, BATCH):
        if _finish_from_ledger(ctx, payout):
            counts["repaired"] += 1
        else:
            ctx.tasks.query_payout_status(payout.id, 0)
            counts["status_queries"] += 1
    for payout in ctx.payouts.stale(PayoutStatus.QUEUED.value, now - queued_after, BATCH):
        if _finish_from_ledger(ctx, payout):
            counts["repaired"] += 1
        else:
            ctx.tasks.request_b2c(payout.id)
            counts["requeued"] += 1
    return counts


def _succeed(ctx: Context, payout: Payout, receipt: str | None) -> Payout:
    now = ctx.clock.now()
    if not _post(ctx, payout, ledger.settle_payout(payout.id, payout.amount, now)):
        return payout
    done = payout.succeeded(receipt, "0", "confirmed by Transaction Status", now)
    ctx.payouts.save(done, expected_version=payout.version)
    _announce(ctx, done)
    return done


def _fail(ctx: Context, payout: Payout, code: str, desc: str) -> Payout:
    """M-Pesa did not pay: the money (if it was reserved) comes back, then the payout fails."""
    now = ctx.clock.now()
    reserved = is_reserved(ctx, payout)
    if reserved and not _post(ctx, payout, ledger.return_payout(payout.id, payout.user_id,
                                                                 payout.amount, now)):
        return payout
    done = payout.failed(code, desc, now) if payout.status is PayoutStatus.PENDING \
        else payout.rejected(code, desc, now)
    ctx.payouts.save(done, expected_version=payout.version)
    if reserved:
        wallet_moved(ctx, payout.user_id)
    _announce(ctx, done)
    return done


def _announce(ctx: Context, payout: Payout) -> None:
    """Tell the person how their final payout ended; stored once, so repeating it is free."""
    if payout.status is PayoutStatus.SUCCESS:
        proof = f" (receipt {payout.receipt})" if payout.receipt else ""
        tell(ctx, payout.user_id, f"payout:{payout.id}:done", "payout_succeeded",
             f"{kes(payout.amount)} was sent to your M-Pesa{proof}", payout_id=payout.id)
        return
    returned = ctx.ledger.get(ledger.payout_outcome_key(payout.id)) is not None
    where = "the money is back in your wallet" if returned else "no money left your wallet"
    tell(ctx, payout.user_id, f"payout:{payout.id}:done", "payout_failed",
         f"Your withdrawal of {kes(payout.amount)} failed ({payout.result_desc}); {where}",
         payout_id=payout.id)


def _post(ctx: Context, payout: Payout, posting: ledger.Posting) -> bool:
    """Write the payout's one outcome posting; False (and an alert) when the other outcome
    holds its key: M-Pesa would have said both, and money never moves twice."""
    try:
        ctx.ledger.post(posting)
        return True
    except PostingConflict:
        _contradiction(ctx, payout)
        return False


def _finish_from_ledger(ctx: Context, payout: Payout) -> bool:
    """A crash between a payout's outcome posting and its status: finish the status."""
    posting = ctx.ledger.get(ledger.payout_outcome_key(payout.id))
    if posting is None:
        return False
    if posting.kind == "payout_settle":
        _succeed(ctx, payout, payout.receipt)
    else:
        _fail(ctx, payout, "RETURNED", "not paid per Transaction Status")
    return True


def _contradiction(ctx: Context, payout: Payout) -> PayoutOutcome:
    ctx.notifier.alert("M-Pesa's answers about a payout contradict each other; nothing moved",
                       payout=payout.id, status=payout.status.value)
    return PayoutOutcome.CONTRADICTED


def _agrees(payout: Payout, paid: bool) -> bool:
    return (payout.status is PayoutStatus.SUCCESS) == paid


def _same_amount(reported: object, asked: int) -> bool:
    try:
        value = Decimal(str(reported))
    except InvalidOperation:
        return False
    return value == asked
