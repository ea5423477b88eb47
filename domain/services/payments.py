"""A payment's whole life: the buyer asks to pay, M-Pesa prompts the phone, and only M-Pesa's
own answer (STK Query) settles it. A callback is a claim that makes us ask, never proof."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain import ledger
from domain.deals import Deal, DealStatus, PaymentSummary, Trigger
from domain.errors import ConcurrencyError, Conflict, NotFound
from domain.mpesa import SUCCESS, StkResult, account_reference
from domain.payments import Payment, PaymentOutcome, PaymentStatus
from domain.ports import (
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PhoneBusy,
    StkGateway,
    StkStatus,
)
from domain.services.announce import kes, tell, wallet_moved
from domain.services.context import Context
from domain.services.deals import visible_deal
from domain.services.idempotency import replay
from domain.users import User

UNRESOLVED = "UNRESOLVED"


@dataclass(frozen=True)
class Settled:
    outcome: PaymentOutcome
    payment: Payment | None = None


def request_payment(
    ctx: Context, user: User, deal_id: str, phone: str, idempotency_key: str, request_hash: str,
) -> Payment:
    """Record a payment attempt (``queued``) and enqueue its STK push; replays return it again.

    The hot path reads the deal and its payments, and writes three documents. A replay is
    found by the payment's unique key when the insert collides, or, once the deal has moved
    on, before refusing the request."""
    deal = visible_deal(ctx, user, deal_id)
    deal.require_buyer(user.id, "pay for")
    refusal = _not_payable(ctx, deal)
    if refusal is not None:
        earlier = ctx.payments.by_idempotency_key(user.id, idempotency_key)
        if earlier is not None:
            return replay(earlier, request_hash)
        raise refusal
    now = ctx.clock.now()
    payment = Payment(
        id=ctx.ids.new_id(), deal_id=deal.id, payer_id=user.id, amount=deal.amount, phone=phone,
        created_at=now, updated_at=now, idempotency_key=idempotency_key, request_hash=request_hash,
        account_reference=account_reference(ctx.ids.new_reference()),
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


def _not_payable(ctx: Context, deal: Deal) -> Conflict | None:
    if deal.status is not DealStatus.PENDING:
        return Conflict(f"a deal that is {deal.status.value} cannot be paid")
    if any(p.status is PaymentStatus.SUCCESS for p in ctx.payments.for_deal(deal.id)):
        return Conflict("a payment for this deal has succeeded; the deal is being funded")
    return None


def payments_of(ctx: Context, user: User, deal_id: str) -> list[Payment]:
    deal = visible_deal(ctx, user, deal_id)
    return list(ctx.payments.for_deal(deal.id))


def visible_payment(ctx: Context, user: User, payment_id: str) -> Payment:
    """The payment if ``user`` is a party to its deal or an admin; else, exactly as if it
    did not exist (the error must not tell someone else's payment from a made-up id)."""
    payment = ctx.payments.get(payment_id)
    try:
        if payment is None:
            raise NotFound("payment not found")
        visible_deal(ctx, user, payment.deal_id)
    except NotFound:
        raise NotFound("payment not found") from None
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
    if payment.push_started_at is not None:  # the push may have gone out: whatever the deal
        updated = payment.lost(now, first_check_at(ctx, now))  # became, it is not given up
    elif deal is None or deal.status is not DealStatus.PENDING:
        updated = payment.rejected("DEAL_NOT_PAYABLE", "the deal can no longer be paid", now)
    else:
        claimed = payment.pushing(now)
        ctx.payments.save(claimed, expected_version=payment.version)  # one worker wins
        # Claim, then look: of two pushes to one phone racing here, at least one sees the
        # other's claim (looking first, both could see nothing and both send).
        try:
            if ctx.payments.open_push_to(payment.phone, payment.id) is not None:
                raise PhoneBusy("another prompt may still be open on this phone")
        except BaseException:  # busy, or the look failed: nothing was sent, say so
            _withdraw_quietly(ctx, claimed)
            raise
        payment, updated = claimed, _push(ctx, gateway, claimed)
    try:
        ctx.payments.save(updated, expected_version=payment.version)
    except ConcurrencyError:
        updated = _keep_answer(ctx, updated)  # the janitor gave up on the push meanwhile
    if updated.status is PaymentStatus.FAILED:
        finish(ctx, updated)
    elif deal is not None:
        ctx.notifier.payment_changed(updated, deal)
    return updated


def _withdraw_quietly(ctx: Context, claimed: Payment) -> None:
    """Release a claim whose push was not sent. If even that fails, the claim stays and the
    payment is treated as a push in doubt: safe (never pushed twice), only slower to close."""
    try:
        ctx.payments.save(claimed.push_withdrawn(ctx.clock.now()),
                          expected_version=claimed.version)
    except Exception:
        pass


def first_check_at(ctx: Context, now: datetime) -> datetime:
    return now + timedelta(seconds=ctx.stk_query_delays_s[0])


def _push(ctx: Context, gateway: StkGateway, payment: Payment) -> Payment:
    now = ctx.clock.now()
    try:
        answer = gateway.push(payment, payment.account_reference)
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


def _keep_answer(ctx: Context, answered: Payment) -> Payment:
    """Our push got an answer after the janitor had marked it lost: keep its CheckoutRequestID
    (thrown away, the payment could only be settled by a callback matched by phone)."""
    current = ctx.payments.get(answered.id)
    if (current is None or answered.checkout_request_id is None or not current.outcome_unknown
            or current.checkout_request_id is not None):
        raise ConcurrencyError("the payment changed while its push was answered")
    kept = current.adopted(answered.checkout_request_id, ctx.clock.now())
    ctx.payments.save(kept, expected_version=current.version)
    return kept


def settle_stk_result(ctx: Context, gateway: StkGateway, result: StkResult) -> Settled:
    """A callback's claim about one STK push, verified with M-Pesa before anything moves.

    Safe to run any number of times, and against a forged body: money moves only on what
    STK Query answers for the CheckoutRequestID, and only if that agrees with the claim."""
    payment = ctx.payments.by_checkout_request_id(result.checkout_request_id)
    candidate = None if payment is not None else _unknown_push_for(ctx, result)
    probe = payment or (candidate and dataclasses.replace(
        candidate, checkout_request_id=result.checkout_request_id))
    if probe is None:
        return Settled(PaymentOutcome.UNKNOWN_PAYMENT)
    known = probe.assess(result)
    if known is PaymentOutcome.RECEIPT_ADDED:
        return Settled(known, _add_receipt(ctx, probe, result.receipt))
    if known is not None:
        if known is PaymentOutcome.REPEAT:
            finish(ctx, probe)  # what a crashed earlier run may have left undone
        return Settled(known, probe)
    status = _ask(gateway, probe)
    if status is None or status.pending:
        outcome = PaymentOutcome.UNVERIFIED if status is None else PaymentOutcome.AWAITING
        return Settled(outcome, probe)
    if candidate is not None:
        if status.result_code != SUCCESS:  # not the paid push it claims to be: not ours
            return Settled(PaymentOutcome.CONTRADICTED, candidate)
        probe = candidate.adopted(result.checkout_request_id, ctx.clock.now())  # M-Pesa knows it
        ctx.payments.save(probe, expected_version=candidate.version)
    agrees = (status.result_code == SUCCESS) == result.succeeded
    receipt = result.receipt if agrees and result.succeeded else None
    done, outcome = apply_answer(ctx, probe, status, receipt)
    if not agrees:
        ctx.notifier.alert("an STK callback contradicts M-Pesa's own answer",
                           payment=probe.id, claimed=result.result_code,
                           confirmed=status.result_code or "")
        return Settled(PaymentOutcome.CONTRADICTED, done)
    return Settled(outcome, done)


UNKNOWN_ID_CODES = {"400.002.02"}  # "Bad Request - Invalid CheckoutRequestID"


def _ask(gateway: StkGateway, payment: Payment) -> StkStatus | None:
    """STK Query; None when M-Pesa does not know the CheckoutRequestID. Any other refusal of
    a read (throttled, a firewall, a token refused twice) is passing: ask again later."""
    try:
        return gateway.query(payment)
    except GatewayRejected as refused:
        if refused.code in UNKNOWN_ID_CODES or "does not exist" in refused.description.lower():
            return None
        raise GatewayUnavailable(f"STK Query refused: {refused}") from refused
    except GatewayOutcomeUnknown as error:  # a read that got no answer: ask again
        raise GatewayUnavailable(str(error)) from error


def _unknown_push_for(ctx: Context, result: StkResult) -> Payment | None:
    """The push whose answer we lost that this success could belong to: the one push to that
    phone, same amount, whose CheckoutRequestID we never got. Only when it is the only one:
    another push still being sent (its id not recorded yet) or two lost ones make it
    ambiguous, and an ambiguous claim is left unmatched (retried, then flagged). However old:
    a callback may come days late, and a window would hide the push it belongs to."""
    if not result.succeeded or result.phone is None:
        return None
    doubtful = [p for p in ctx.payments.in_doubt_for(result.phone)
                if p.amount == result.amount]
    if len(doubtful) != 1 or not doubtful[0].matches_unknown(result):
        return None
    return doubtful[0]


def check_payment(ctx: Context, gateway: StkGateway, payment_id: str) -> Payment | None:
    """The reconciliation schedule's STK Query of one pending push."""
    payment = ctx.payments.get(payment_id)
    if payment is None:
        return None
    if not payment.is_open:
        finish(ctx, payment)  # a redelivery after a crash past the answer
        return payment
    if payment.status is not PaymentStatus.PENDING or payment.checkout_request_id is None:
        return payment
    status = _ask(gateway, payment)
    if status is None or status.pending:  # unknown to Daraja (yet), or still on the phone
        return wait_another_round(ctx, payment, ctx.clock.now())
    return apply_answer(ctx, payment, status, None)[0]


def apply_answer(ctx: Context, payment: Payment, status: StkStatus,
                 receipt: str | None) -> tuple[Payment, PaymentOutcome]:
    """M-Pesa's final answer about ``payment``: the money is posted before the status."""
    code = status.result_code or ""
    if payment.status is PaymentStatus.SUCCESS or (
            payment.status is PaymentStatus.FAILED and code != SUCCESS):
        finish(ctx, payment)
        return payment, PaymentOutcome.REPEAT
    now = ctx.clock.now()
    if receipt is not None and ctx.payments.by_receipt(receipt) is not None:
        receipt = None  # another payment holds it: a replayed or forged receipt; keep ours clean
    done = payment.confirmed(code, status.result_desc or "", now, receipt)
    if code == SUCCESS:
        ctx.ledger.post(ledger.fund_escrow(done.id, done.deal_id, done.amount, now))
    ctx.payments.save(done, expected_version=payment.version)
    outcome = finish(ctx, done)
    if done.status is PaymentStatus.FAILED:
        return done, PaymentOutcome.FAILED
    if payment.status is PaymentStatus.FAILED:
        return done, PaymentOutcome.LATE_CREDIT
    return done, outcome or PaymentOutcome.CREDITED


def wait_another_round(ctx: Context, payment: Payment, now: datetime) -> Payment | None:
    """Schedule the next check, or close the payment when the schedule has run out."""
    delays = ctx.stk_query_delays_s
    following = payment.checks + 1
    next_at = now + timedelta(seconds=delays[following]) if following < len(delays) else None
    checked = payment.checked(now, next_at)
    if next_at is not None:
        ctx.payments.save(checked, expected_version=payment.version)
        return checked
    closed = checked.confirmed(UNRESOLVED, "no final answer from M-Pesa within the "
                               "reconciliation schedule", now)
    ctx.payments.save(closed, expected_version=payment.version)  # the last round and the close:
    finish(ctx, closed)  # one write, so a crash cannot leave it open with nothing due
    return None


def _raise_alerts(ctx: Context, payment: Payment) -> None:
    """The alerts a final payment calls for, raised while finishing it: at least once (again
    if a crash came before the mark), never lost."""
    if payment.status is PaymentStatus.FAILED and payment.result_code == UNRESOLVED:
        ctx.notifier.alert("STK payment unresolved after the whole query schedule",
                           payment=payment.id, deal=payment.deal_id, checks=str(payment.checks))
    elif payment.status is PaymentStatus.SUCCESS and payment.late:
        ctx.notifier.alert("late STK success after the payment was closed as failed",
                           payment=payment.id, deal=payment.deal_id)


def finish(ctx: Context, payment: Payment) -> PaymentOutcome | None:
    """Complete what a final payment implies (the deal funded or the money returned to the
    buyer, the people told); every step is a no-op when already done. It is marked finished
    last, so the janitor completes whatever a crash or a lost retry left undone."""
    if payment.finished:
        return None
    _raise_alerts(ctx, payment)
    if payment.status is PaymentStatus.SUCCESS:
        outcome = fund_deal(ctx, payment)
    elif payment.status is PaymentStatus.FAILED:
        tell_failed(ctx, payment)
        outcome = PaymentOutcome.FAILED
    else:
        return None
    ctx.payments.mark_finished(payment.id)
    return outcome


def tell_failed(ctx: Context, payment: Payment) -> None:
    deal = ctx.deals.get(payment.deal_id)
    if deal is None:
        return
    ctx.notifier.payment_changed(payment, deal)
    tell(ctx, payment.payer_id, f"payment:{payment.id}:failed", "payment_failed",
         f"Your M-Pesa payment for '{deal.title}' did not go through "
         f"({payment.result_desc}); you can pay again", deal_id=deal.id)


def fund_deal(ctx: Context, payment: Payment) -> PaymentOutcome:
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
        return PaymentOutcome.CREDITED
    if deal.status is not DealStatus.PENDING:
        _return_to_buyer(ctx, payment, deal)
        return PaymentOutcome.CREDITED_TO_WALLET
    summary = PaymentSummary("mpesa", payment.receipt, payment.status.value, payment.paid_at)
    note = (f"M-Pesa receipt {payment.receipt}" if payment.receipt
            else "confirmed by M-Pesa (STK Query); the receipt follows")
    funded = deal.apply(Trigger.FUND, "system", now, "funded", note, payment=summary,
                        funded_by=payment.id)
    ctx.deals.save(funded, expected_version=deal.version)
    assert funded.last_event is not None
    ctx.deals.record_event(funded.last_event)
    ctx.notifier.payment_changed(payment, funded)
    ctx.notifier.deal_changed(funded, "transaction:updated")
    _tell_funded(ctx, funded)
    return PaymentOutcome.CREDITED


def _add_receipt(ctx: Context, payment: Payment, receipt: str | None) -> Payment:
    """The receipt of a payment M-Pesa already confirmed reaches the payment and the deal."""
    now = ctx.clock.now()
    if not receipt or ctx.payments.by_receipt(receipt) is not None:
        return payment
    with_receipt = payment.with_receipt(receipt, now)
    ctx.payments.save(with_receipt, expected_version=payment.version)
    finish(ctx, with_receipt)  # funds the deal if a crash had left that undone
    deal = ctx.deals.get(payment.deal_id)
    if deal is None or deal.funded_by != payment.id or deal.payment is None \
            or deal.payment.reference is not None:
        return with_receipt
    summary = dataclasses.replace(deal.payment, reference=receipt)
    after = deal.apply(Trigger.RECEIPT, "system", now, "receipt_received",
                       f"M-Pesa receipt {receipt}", payment=summary)
    ctx.deals.save(after, expected_version=deal.version)
    assert after.last_event is not None
    ctx.deals.record_event(after.last_event)
    ctx.notifier.deal_changed(after, "transaction:updated")
    return with_receipt


def _tell_funded(ctx: Context, deal: Deal) -> None:
    for user_id in (deal.buyer_id, deal.seller_id):
        tell(ctx, user_id, f"deal:{deal.id}:funded", "deal_funded",
             f"'{deal.title}' is funded: {kes(deal.amount)} is held in escrow", deal_id=deal.id)


def _return_to_buyer(ctx: Context, payment: Payment, deal: Deal) -> None:
    """Money that arrived for a deal that can no longer hold it goes to the buyer's wallet.
    The posting is built from facts that never change, so writing it again is a no-op."""
    ctx.ledger.post(ledger.transfer(
        f"payment:{payment.id}:return", "late_payment_return", ledger.escrow(deal.id),
        ledger.wallet(payment.payer_id), payment.amount, ctx.clock.now(), deal_id=deal.id,
        memo=f"payment {payment.id} arrived after the deal stopped taking payments",
    ))
    tell(ctx, payment.payer_id, f"payment:{payment.id}:returned", "payment_returned",
         f"Your payment of {kes(payment.amount)} for '{deal.title}' arrived after the deal was "
         f"{deal.status.value}; it is in your wallet", deal_id=deal.id)
    wallet_moved(ctx, payment.payer_id)
