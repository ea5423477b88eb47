"""Funding a deal: the buyer asks to pay, M-Pesa prompts the phone, the result settles it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain import ledger
from domain.deals import Deal, DealStatus, PaymentSummary, Trigger
from domain.errors import ConcurrencyError, Conflict, NotFound
from domain.mpesa import StkResult, account_reference
from domain.payments import Payment, PaymentStatus, Verdict
from domain.ports import (
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PhoneBusy,
    StkGateway,
)
from domain.services.announce import kes, tell, wallet_moved
from domain.services.context import Context
from domain.services.deals import visible_deal
from domain.services.idempotency import replay
from domain.users import User


def request_payment(
    ctx: Context, user: User, deal_id: str, phone: str, idempotency_key: str, request_hash: str,
) -> Payment:
    """Record a payment attempt (``queued``) and enqueue its STK push; replays return it again."""
    earlier = ctx.payments.by_idempotency_key(user.id, idempotency_key)
    if earlier is not None:
        return replay(earlier, request_hash)
    deal = visible_deal(ctx, user, deal_id)
    deal.require_buyer(user.id, "pay for")
    if deal.status is not DealStatus.PENDING:
        raise Conflict(f"a deal that is {deal.status.value} cannot be paid")
    now = ctx.clock.now()
    payment = Payment(
        id=ctx.ids.new_id(), deal_id=deal.id, payer_id=user.id, amount=deal.amount, phone=phone,
        created_at=now, updated_at=now, idempotency_key=idempotency_key, request_hash=request_hash,
    )
    stored = ctx.payments.add(payment)
    if stored.id != payment.id:  # a concurrent request holds the key or the deal's open slot
        if stored.payer_id == user.id and stored.idempotency_key == idempotency_key:
            return replay(stored, request_hash)
        raise Conflict("a payment for this deal is already in progress")
    try:
        after = deal.apply(Trigger.PAY, user.id, now, "payment_requested", f"payment {payment.id}")
        ctx.deals.save(after, expected_version=deal.version)
    except ConcurrencyError:
        failed = payment.rejected("DEAL_CHANGED", "the deal changed while paying", now)
        ctx.payments.save(failed, expected_version=payment.version)
        raise Conflict("the deal changed while paying; try again") from None
    assert after.last_event is not None
    ctx.deals.record_event(after.last_event)
    ctx.tasks.request_stk_push(payment.id)
    ctx.notifier.deal_changed(after, "transaction:updated")
    return payment


def payments_of(ctx: Context, user: User, deal_id: str) -> list[Payment]:
    deal = visible_deal(ctx, user, deal_id)
    return list(ctx.payments.for_deal(deal.id))


def visible_payment(ctx: Context, user: User, payment_id: str) -> Payment:
    payment = ctx.payments.get(payment_id)
    if payment is None:
        raise NotFound("payment not found")
    visible_deal(ctx, user, payment.deal_id)  # 404 unless a party or an admin
    return payment


def send_stk_push(ctx: Context, gateway: StkGateway, payment_id: str) -> Payment | None:
    """The worker's half: push to the phone at most once, record what Daraja said.

    The claim (``push_started_at``) is saved before sending. A run that finds it already
    set is a redelivery after a crash mid-push: the first push may have reached the phone,
    so it is never sent again; the payment waits, outcome unknown, for a callback naming its
    phone and amount, or for the reconciliation schedule to run out.
    """
    payment = ctx.payments.get(payment_id)
    if payment is None or payment.status is not PaymentStatus.QUEUED:
        return payment  # already pushed, or settled: nothing to do
    deal = ctx.deals.get(payment.deal_id)
    now = ctx.clock.now()
    if deal is None or deal.status is not DealStatus.PENDING:
        updated = payment.rejected("DEAL_NOT_PAYABLE", "the deal can no longer be paid", now)
    elif payment.push_started_at is not None:
        updated = payment.lost(now, first_check_at(ctx, now))
    else:
        if ctx.payments.open_push_to(payment.phone, payment.id) is not None:
            raise PhoneBusy("another prompt may still be open on this phone")
        claimed = payment.pushing(now)
        ctx.payments.save(claimed, expected_version=payment.version)  # one worker wins
        payment, updated = claimed, _push(ctx, gateway, claimed, deal)
    ctx.payments.save(updated, expected_version=payment.version)
    if updated.status is PaymentStatus.FAILED:
        tell_failed(ctx, updated)
    elif deal is not None:
        ctx.notifier.payment_changed(updated, deal)
    return updated


def first_check_at(ctx: Context, now: datetime) -> datetime:
    return now + timedelta(seconds=ctx.stk_query_delays_s[0])


def _push(ctx: Context, gateway: StkGateway, payment: Payment, deal: Deal) -> Payment:
    now = ctx.clock.now()
    try:
        answer = gateway.push(payment, account_reference(deal.id))
    except GatewayUnavailable:
        # Nothing was created: release the claim so the retry may push.
        ctx.payments.save(payment.push_withdrawn(now), expected_version=payment.version)
        raise
    except GatewayRejected as refused:
        return payment.rejected(refused.code, refused.description, now)
    except GatewayOutcomeUnknown:
        return payment.lost(now, first_check_at(ctx, now))
    return payment.accepted(answer.merchant_request_id, answer.checkout_request_id, now,
                            first_check_at(ctx, now))


class Outcome(StrEnum):
    CREDITED = "credited"
    CREDITED_TO_WALLET = "credited_to_wallet"  # paid, but the deal could no longer take it
    FAILED = "failed"
    UNKNOWN_PAYMENT = "unknown_payment"
    MISMATCH = "mismatch"
    ALREADY_FINAL = "already_final"
    STATUS_QUERIED = "status_queried"  # no verdict: a Transaction Status query will decide
    LATE_CREDIT = "late_credit"  # paid after we had closed it as failed: credited, flagged


@dataclass(frozen=True)
class Settlement:
    outcome: Outcome
    payment: Payment | None = None


def settle_stk_result(ctx: Context, result: StkResult) -> Settlement:
    """Apply M-Pesa's verdict on one STK push. Safe to run any number of times."""
    payment = ctx.payments.by_checkout_request_id(result.checkout_request_id) \
        or _adopt_unknown(ctx, result)
    if payment is None:
        return Settlement(Outcome.UNKNOWN_PAYMENT)
    verdict = payment.judge(result)
    if verdict is Verdict.MISMATCH:
        return Settlement(Outcome.MISMATCH, payment)
    if verdict is Verdict.ADD_RECEIPT:  # a query confirmed it; the callback brings the receipt
        with_receipt = payment.with_receipt(result.receipt or "", ctx.clock.now())
        ctx.payments.save(with_receipt, expected_version=payment.version)
        fund_deal(ctx, with_receipt)
        return Settlement(Outcome.ALREADY_FINAL, with_receipt)
    if verdict is Verdict.ALREADY_FINAL:  # finish what a crashed earlier run started
        if payment.status is PaymentStatus.SUCCESS:
            fund_deal(ctx, payment)
        elif payment.status is PaymentStatus.FAILED:
            tell_failed(ctx, payment)
        return Settlement(Outcome.ALREADY_FINAL, payment)
    settled = payment.settled(result, ctx.clock.now())
    ctx.payments.save(settled, expected_version=payment.version)
    if verdict is Verdict.FAIL:
        tell_failed(ctx, settled)
        return Settlement(Outcome.FAILED, settled)
    outcome = fund_deal(ctx, settled)
    if verdict is Verdict.LATE_CREDIT:
        ctx.notifier.alert("late STK success after the payment was closed as failed",
                           payment=settled.id, deal=settled.deal_id, outcome=outcome.value)
        return Settlement(Outcome.LATE_CREDIT, settled)
    return Settlement(outcome, settled)


def _adopt_unknown(ctx: Context, result: StkResult) -> Payment | None:
    """A success for a push whose answer we lost: the one open push to that phone, same
    amount (at most one push per phone is open at a time, so the match is unambiguous)."""
    if not result.succeeded or result.phone is None:
        return None
    candidate = ctx.payments.unknown_outcome_for(result.phone)
    if candidate is None or not candidate.matches_unknown(result):
        return None
    adopted = candidate.adopted(result.checkout_request_id, ctx.clock.now())
    ctx.payments.save(adopted, expected_version=candidate.version)
    return adopted


def tell_failed(ctx: Context, payment: Payment) -> None:
    deal = ctx.deals.get(payment.deal_id)
    if deal is None:
        return
    ctx.notifier.payment_changed(payment, deal)
    tell(ctx, payment.payer_id, f"payment:{payment.id}:failed", "payment_failed",
         f"Your M-Pesa payment for '{deal.title}' did not go through "
         f"({payment.result_desc}); you can pay again", deal_id=deal.id)


def fund_deal(ctx: Context, payment: Payment) -> Outcome:
    """Ledger hold, deal ``active``, timeline event: each step idempotent, in that order."""
    now = ctx.clock.now()
    ctx.ledger.post(ledger.fund_escrow(payment.id, payment.deal_id, payment.amount, now))
    deal = ctx.deals.get(payment.deal_id)
    if deal is None:
        raise NotFound(f"deal {payment.deal_id} of payment {payment.id} is missing")
    if deal.funded_by == payment.id:
        if deal.last_event is not None:
            ctx.deals.record_event(deal.last_event)
        _tell_funded(ctx, deal)  # stored once per key: a no-op unless a crash lost it
        return Outcome.CREDITED
    if deal.status is not DealStatus.PENDING:
        _return_to_buyer(ctx, payment, deal)
        return Outcome.CREDITED_TO_WALLET
    summary = PaymentSummary("mpesa", payment.receipt, payment.status.value, payment.paid_at)
    funded = deal.apply(
        Trigger.FUND, "system", now, "funded", f"M-Pesa receipt {payment.receipt}",
        payment=summary, funded_by=payment.id,
    )
    ctx.deals.save(funded, expected_version=deal.version)
    assert funded.last_event is not None
    ctx.deals.record_event(funded.last_event)
    ctx.notifier.payment_changed(payment, funded)
    ctx.notifier.deal_changed(funded, "transaction:updated")
    _tell_funded(ctx, funded)
    return Outcome.CREDITED


def _tell_funded(ctx: Context, deal: Deal) -> None:
    for user_id in (deal.buyer_id, deal.seller_id):
        tell(ctx, user_id, f"deal:{deal.id}:funded", "deal_funded",
             f"'{deal.title}' is funded: {kes(deal.amount)} is held in escrow", deal_id=deal.id)


def _return_to_buyer(ctx: Context, payment: Payment, deal: Deal) -> None:
    """Money that arrived for a deal that can no longer hold it goes to the buyer's wallet."""
    ctx.ledger.post(ledger.transfer(
        f"payment:{payment.id}:return", "late_payment_return", ledger.escrow(deal.id),
        ledger.wallet(payment.payer_id), payment.amount, ctx.clock.now(), deal_id=deal.id,
        memo=f"payment {payment.id} arrived after the deal was {deal.status.value}",
    ))
    tell(ctx, payment.payer_id, f"payment:{payment.id}:returned", "payment_returned",
         f"Your payment of {kes(payment.amount)} for '{deal.title}' arrived after the deal was "
         f"{deal.status.value}; it is in your wallet", deal_id=deal.id)
    wallet_moved(ctx, payment.payer_id)
