"""No money moves on anyone's word but M-Pesa's confirmed answer, and the crash and race
windows that issue 7 found by reading the code stay closed."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from domain import ledger
from domain.deals import DealStatus
from domain.ledger import UnbalancedPosting
from domain.payments import PaymentOutcome, PaymentStatus
from domain.payouts import Payout, PayoutStatus
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable, StkAccepted
from domain.services import callbacks, lifecycle, payments, payouts, reconcile
from domain.services.payouts import PayoutOutcome
from tests.unit.fakes import FakeB2c, FakeInbox
from tests.unit.world import RECEIPT, World, b2c_result, status_result


def _fund_postings(world: World) -> list[str]:
    return [k for k in world.fakes.ledger.postings if k.endswith(":fund")]


# --- 1. A success callback only proposes a credit ------------------------------------------


def test_a_forged_success_for_a_push_still_on_the_phone_moves_no_money(world: World) -> None:
    deal, payment = world.pending_payment()
    settled = world.forge(world.success(payment, receipt="FORGED0001"))
    assert settled.outcome is PaymentOutcome.AWAITING  # M-Pesa: still processing
    assert world.mpesa.queried == [payment.checkout_request_id]
    assert world.payment(payment.id).status is PaymentStatus.PENDING
    assert world.deal(deal.id).status is DealStatus.PENDING
    assert _fund_postings(world) == []


def test_a_forged_success_for_a_cancelled_push_is_contradicted_and_moves_no_money(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "1032", "Request cancelled by user")
    settled = world.forge(world.success(payment, receipt="FORGED0002"))
    assert settled.outcome is PaymentOutcome.CONTRADICTED
    assert world.payment(payment.id).status is PaymentStatus.FAILED  # as M-Pesa says
    assert world.deal(deal.id).status is DealStatus.PENDING
    assert _fund_postings(world) == []
    assert world.fakes.notifier.alerts[-1][0] == "an STK callback contradicts M-Pesa's own answer"


def test_the_genuine_success_after_a_forgery_credits_once_with_the_genuine_receipt(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    world.forge(world.success(payment, receipt="FORGED0003"))
    assert world.settle(world.success(payment)).outcome is PaymentOutcome.CREDITED
    paid = world.payment(payment.id)
    assert (paid.status, paid.receipt) == (PaymentStatus.SUCCESS, RECEIPT)
    assert world.deal(deal.id).status is DealStatus.ACTIVE
    assert _fund_postings(world) == [f"payment:{payment.id}:fund"]


def test_a_success_for_an_id_daraja_does_not_know_is_unverified(world: World) -> None:
    _, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.truth[payment.checkout_request_id] = GatewayRejected("400.002.02", "Invalid")
    assert world.forge(world.success(payment)).outcome is PaymentOutcome.UNVERIFIED
    assert _fund_postings(world) == []


def test_a_forged_success_for_a_lost_push_is_not_adopted_unless_mpesa_knows_it(
    world: World,
) -> None:
    deal = world.open_deal()
    payment = world.request(deal, "k-lost", "h-lost")
    unknown = world.push(payment, GatewayOutcomeUnknown("read timeout"))
    claim = world.success(dataclasses.replace(unknown, checkout_request_id="ws_CO_forged"))
    assert world.forge(claim).outcome is PaymentOutcome.AWAITING
    assert world.payment(payment.id).checkout_request_id is None  # not adopted
    assert world.settle(claim).outcome is PaymentOutcome.CREDITED  # M-Pesa knows it now
    assert world.payment(payment.id).checkout_request_id == "ws_CO_forged"


def test_identifiers_sent_to_mpesa_are_not_derived_from_ids_users_see(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    assert payment.account_reference.startswith("ESC") and len(payment.account_reference) <= 12
    assert deal.id.upper()[-6:] not in payment.account_reference
    world.seller_wallet(1500)
    payout = world.withdraw(500)
    assert payout.id not in payout.originator_conversation_id
    assert len(payout.originator_conversation_id) >= 20


# --- 1. A failure that would return money is confirmed by Transaction Status ------------------


def _crash_after_posting_the_answer(world: World, state: str) -> tuple[Payout, str]:
    """M-Pesa answers our status query with ``state``; we die between posting the outcome and
    saving the payout's status."""
    payout = world.pending_payout()
    query = world.ask_status(payout)
    world.fakes.payouts.fail_next_save = ConnectionError("died after posting the outcome")
    answer = status_result(query, state=state, original=payout.originator_conversation_id)
    with pytest.raises(ConnectionError):
        payouts.apply_status_result(world.ctx, answer)
    return payout, query


def _in_flight(world: World) -> tuple[int, int]:
    return world.balance(ledger.wallet(world.seller.id)), world.balance(ledger.PAYOUTS_IN_FLIGHT)


def test_a_forged_b2c_failure_for_a_paid_payout_returns_nothing(world: World) -> None:
    payout = world.pending_payout()
    forged = b2c_result(payout, "2001")
    assert payouts.apply_b2c_result(world.ctx, forged) is PayoutOutcome.VERIFYING
    assert _in_flight(world) == (500, 1000)  # nothing came back on its word
    assert world.fakes.tasks.status_queries[-1] == (payout.id, 0)  # we ask M-Pesa instead
    query = world.ask_status(payout)
    genuine = status_result(query, state="Completed", original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, genuine) is PayoutOutcome.PAID
    assert world.payout(payout.id).status is PayoutStatus.SUCCESS
    assert _in_flight(world) == (500, 0)


def test_a_forged_declined_status_naming_the_payout_but_not_our_query_moves_nothing(
    world: World,
) -> None:
    payout = world.pending_payout()
    world.ask_status(payout)
    forged = status_result("guessed-query-id", state="Declined",
                           original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, forged) is PayoutOutcome.UNKNOWN_PAYOUT
    assert world.payout(payout.id).status is PayoutStatus.PENDING
    assert _in_flight(world) == (500, 1000)


def test_a_status_answer_about_another_transaction_is_a_mismatch(world: World) -> None:
    payout = world.pending_payout()
    query = world.ask_status(payout)
    other = status_result(query, state="Declined", original="escrow-somebody-else")
    assert payouts.apply_status_result(world.ctx, other) is PayoutOutcome.MISMATCH
    assert _in_flight(world) == (500, 1000)


@pytest.mark.parametrize("state", ["Reversed", "Suspended", "Completed?", "On hold"])
def test_a_status_state_not_on_the_failure_allow_list_refunds_nothing_and_alerts(
    world: World, state: str,
) -> None:
    payout = world.pending_payout()
    query = world.ask_status(payout)
    strange = status_result(query, state=state, original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, strange) is PayoutOutcome.STRANGE_STATE
    assert world.payout(payout.id).status is PayoutStatus.PENDING
    assert _in_flight(world) == (500, 1000)
    assert world.fakes.notifier.alerts[-1][0] == \
        "Transaction Status reported a state we do not know"


def test_a_declined_status_of_our_own_query_returns_the_money_once(world: World) -> None:
    payout = world.pending_payout()
    query = world.ask_status(payout)
    declined = status_result(query, state="Declined", original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, declined) is PayoutOutcome.RETURNED
    assert payouts.apply_status_result(world.ctx, declined) is PayoutOutcome.REPEAT
    assert _in_flight(world) == (1500, 0)
    completed = status_result(query, state="Completed",
                              original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, completed) is PayoutOutcome.CONTRADICTED
    assert _in_flight(world) == (1500, 0)


# --- 2. The windows ------------------------------------------------------------------------


def test_two_concurrent_withdrawals_never_overdraw_the_wallet(world: World) -> None:
    """Wallet 1000, two 800s at once: the second lands between the first's reads."""
    world.seller_wallet(1000)
    second: list[object] = []

    def concurrent(_: str) -> None:
        try:
            second.append(world.withdraw(800, key="w2", request_hash="wh2"))
        except Exception as refused:  # the loser is refused
            second.append(refused)

    def arm_for_the_next_read(_: str) -> None:  # after the cheap refusal's read…
        world.fakes.ledger.after_next_balance = concurrent  # …the second slips in

    world.fakes.ledger.after_next_balance = arm_for_the_next_read
    outcome: object
    try:
        outcome = world.withdraw(800)
    except Exception as refused:
        outcome = refused
    wins = [o for o in (outcome, *second) if isinstance(o, Payout)]
    assert len(wins) == 1
    assert world.balance(ledger.wallet(world.seller.id)) == 200
    assert len(world.fakes.tasks.b2c_requests) == 1


def test_a_crash_between_a_payout_posting_and_its_status_is_finished_by_the_sweep(
    world: World,
) -> None:
    payout, _ = _crash_after_posting_the_answer(world, "Completed")
    assert world.fakes.ledger.get(ledger.payout_outcome_key(payout.id)) is not None
    assert world.payout(payout.id).status is PayoutStatus.PENDING  # money moved, status not
    world.fakes.clock.advance(minutes=5)
    counts = payouts.reconcile(world.ctx, world.fakes.clock.now(), timedelta(seconds=60),
                               timedelta(seconds=60))
    assert counts["repaired"] == 1
    assert world.payout(payout.id).status is PayoutStatus.SUCCESS
    assert "payout_succeeded" in world.fakes.notifications.kinds_for(world.seller.id)
    assert _in_flight(world) == (500, 0)


def test_a_late_credit_replayed_after_the_deal_moved_on_is_a_no_op(world: World) -> None:
    deal, first = world.pending_payment()
    world.settle(world.failure(first))
    second = world.push(world.request(deal, "k2", "h2"))
    world.settle(world.success(second, receipt="SECOND0001"))  # the deal is funded by #2
    late = world.success(first)
    assert world.settle(late).outcome is PaymentOutcome.LATE_CREDIT  # to the buyer's wallet
    lifecycle.release(world.ctx, world.buyer, deal.id)  # the deal moves on
    payments.finish(world.ctx, world.payment(first.id))  # a redelivery re-posts: no conflict
    assert world.balance(ledger.wallet(world.buyer.id)) == 1500
    assert world.fakes.ledger.total() == 0


def test_a_receipt_that_follows_a_query_confirmed_success_reaches_the_deal(world: World) -> None:
    deal, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0", "processed")
    payments.check_payment(world.ctx, world.mpesa, payment.id)
    funded = world.deal(deal.id)
    assert funded.status is DealStatus.ACTIVE and funded.payment is not None
    assert funded.payment.reference is None
    assert funded.last_event is not None and "None" not in (funded.last_event.note or "")
    assert world.settle(world.success(payment)).outcome is PaymentOutcome.RECEIPT_ADDED
    after = world.deal(deal.id)
    assert after.payment is not None and after.payment.reference == RECEIPT
    assert world.payment(payment.id).receipt == RECEIPT
    assert world.fakes.deals.timeline(deal.id)[-1].event == "receipt_received"
    assert _fund_postings(world) == [f"payment:{payment.id}:fund"]


def test_a_push_is_not_called_lost_while_a_slow_push_may_still_be_answered(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    claimed = payment.pushing(world.fakes.clock.now())
    world.fakes.payments.save(claimed, expected_version=payment.version)
    world.fakes.clock.advance(seconds=75)  # two tries of connect + read can take 70 s
    reconcile.reconcile_payments(world.ctx, world.fakes.clock.now())
    assert world.payment(payment.id).outcome_unknown is False
    world.fakes.clock.advance(seconds=world.ctx.push_lost_after_s)
    assert reconcile.reconcile_payments(world.ctx, world.fakes.clock.now())["lost"] == 1


def test_an_answer_that_arrives_after_the_janitor_gave_up_keeps_its_checkout_id(
    world: World,
) -> None:
    deal = world.open_deal()
    payment = world.request(deal)

    class SlowGateway:
        def push(self, p: object, reference: str) -> StkAccepted:
            world.fakes.clock.advance(seconds=world.ctx.push_lost_after_s + 1)
            reconcile.reconcile_payments(world.ctx, world.fakes.clock.now())  # gives up
            return StkAccepted("mr-slow", "ws_CO_slow")

    kept = payments.send_stk_push(world.ctx, SlowGateway(), payment.id)  # type: ignore[arg-type]
    assert kept is not None and kept.checkout_request_id == "ws_CO_slow"
    assert world.payment(payment.id).checkout_request_id == "ws_CO_slow"


def test_a_broken_settlement_is_found_however_many_deals_settled_before_it(
    world: World,
) -> None:
    world.fakes.payments.one_prompt_per_phone = False
    broken = world.funded(500)
    for _ in range(30):
        lifecycle.release(world.ctx, world.buyer, world.funded(100).id)
    world.fakes.ledger.fail_next_post = ConnectionError("died before the posting")
    with pytest.raises(ConnectionError):
        lifecycle.release(world.ctx, world.buyer, broken.id)
    world.fakes.clock.advance(days=30)  # long past any window
    assert lifecycle.repair_settlements(world.ctx, limit=5) == 1
    assert world.fakes.ledger.get(f"deal:{broken.id}:settle") is not None
    assert world.fakes.deals.unposted_settlements(100) == []


def _stored(world: World, inbox: FakeInbox, body: dict[str, object]) -> str:
    return inbox.put(json.dumps(body), received_at=world.fakes.clock.now())


def _stk_body(payment_checkout: str, code: int, amount: int = 1500) -> dict[str, object]:
    callback: dict[str, object] = {"MerchantRequestID": "mr", "CheckoutRequestID":
                                   payment_checkout, "ResultCode": code, "ResultDesc": "x"}
    if code == 0:
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": amount}, {"Name": "MpesaReceiptNumber", "Value": RECEIPT},
            {"Name": "PhoneNumber", "Value": 254708374149}]}
    return {"Body": {"stkCallback": callback}}


def test_routine_outcomes_are_not_flagged_for_operators(world: World) -> None:
    inbox = FakeInbox()
    _, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0")
    body = _stk_body(payment.checkout_request_id, 0)
    first, repeat = _stored(world, inbox, body), _stored(world, inbox, body)
    assert callbacks.process_callback(world.ctx, inbox, world.mpesa, first, False) == "credited"
    assert callbacks.process_callback(world.ctx, inbox, world.mpesa, repeat, False) == "repeat"
    assert inbox.marks[repeat][0] == "processed"
    payout = world.pending_payout()
    query = world.ask_status(payout)
    not_yet = {"Result": {"ResultType": 0, "ResultCode": 2032, "ResultDesc": "not found",
                          "OriginatorConversationID": query, "ConversationID": "AG"}}
    status_id = inbox.put(json.dumps(not_yet), kind="status_result")
    outcome = callbacks.process_callback(world.ctx, inbox, world.mpesa, status_id, False)
    assert (outcome, inbox.marks[status_id][0]) == ("not_known_yet", "processed")


def test_a_programming_error_while_applying_a_callback_is_not_called_malformed(
    world: World,
) -> None:
    inbox = FakeInbox()
    _, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0")
    callback_id = _stored(world, inbox, _stk_body(payment.checkout_request_id, 0))
    world.fakes.ledger.fail_next_post = UnbalancedPosting("a bug of ours")
    with pytest.raises(UnbalancedPosting):
        callbacks.process_callback(world.ctx, inbox, world.mpesa, callback_id, False)
    assert callback_id not in inbox.marks  # still "received": retried, then alerted
    assert callbacks.process_callback(world.ctx, inbox, world.mpesa, callback_id, False) \
        == "credited"


def test_a_callback_that_keeps_failing_is_alerted_then_waited_out_for_a_day_then_flagged(
    world: World,
) -> None:
    inbox = FakeInbox()
    callback_id = inbox.put("{}", received_at=world.fakes.clock.now())
    for _ in range(reconcile.ALERT_AFTER_REQUEUES + 5):
        world.fakes.clock.advance(minutes=2)
        reconcile.requeue_stale_callbacks(world.ctx, inbox, world.fakes.clock.now())
    assert world.fakes.tasks.callbacks == [callback_id] * (reconcile.ALERT_AFTER_REQUEUES + 5)
    alerts = [a for a in world.fakes.notifier.alerts if a[1].get("callback") == callback_id]
    assert len(alerts) == 1  # once, at the tenth round; the requeues go on (an outage ends)
    assert callback_id not in inbox.marks
    world.fakes.clock.advance(days=1)
    reconcile.requeue_stale_callbacks(world.ctx, inbox, world.fakes.clock.now())
    assert inbox.marks[callback_id] == ("flagged", "processing keeps failing")


def test_an_answer_contradicting_an_outcome_already_posted_is_flagged_and_moves_nothing(
    world: World,
) -> None:
    payout, query = _crash_after_posting_the_answer(world, "Declined")
    completed = status_result(query, state="Completed",
                              original=payout.originator_conversation_id)
    assert payouts.apply_status_result(world.ctx, completed) is PayoutOutcome.CONTRADICTED
    assert world.payout(payout.id).status is PayoutStatus.PENDING
    assert _in_flight(world) == (1500, 0)  # returned once, never also paid
    assert "contradict" in world.fakes.notifier.alerts[-1][0]


# --- Found by the attacker's review of this change ------------------------------------------


def test_a_confirmed_payment_whose_deal_funding_crashed_is_funded_by_the_janitor(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0")
    world.fakes.deals.fail_next_save = RuntimeError("a write error no retry covers")
    with pytest.raises(RuntimeError):
        payments.check_payment(world.ctx, world.mpesa, payment.id)
    assert world.payment(payment.id).status is PaymentStatus.SUCCESS
    assert world.deal(deal.id).status is DealStatus.PENDING  # money held, deal not funded
    with pytest.raises(Exception, match="has succeeded"):  # the buyer cannot pay twice
        world.request(world.deal(deal.id), "k-again", "h-again")
    world.fakes.clock.advance(minutes=2)
    assert reconcile.reconcile_payments(world.ctx, world.fakes.clock.now())["finished"] == 1
    assert world.deal(deal.id).status is DealStatus.ACTIVE
    world.fakes.clock.advance(minutes=2)
    assert reconcile.reconcile_payments(world.ctx, world.fakes.clock.now())["finished"] == 0


def test_a_withdrawal_reserved_after_the_worker_gave_it_up_comes_straight_back(
    world: World,
) -> None:
    world.seller_wallet(1000)

    def stall(_: object) -> None:  # the request pauses between saving its key and posting
        world.fakes.clock.advance(minutes=11)
        [stalled] = world.fakes.payouts.rows.values()
        payouts.send_b2c(world.ctx, FakeB2c(), stalled.id)  # the reconciler's retry gives up

    world.fakes.ledger.before_next_post = stall
    payout = world.withdraw(600)
    assert world.payout(payout.id).result_code == "NOT_RESERVED"
    assert _in_flight(world) == (1000, 0)  # reserved, then returned: nothing stranded
    assert "given up" in world.fakes.notifier.alerts[-1][0]


def test_a_throttled_stk_query_is_retried_and_uses_up_no_check(world: World) -> None:
    _, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.truth[payment.checkout_request_id] = GatewayRejected("HTTP429", "Too Many")
    world.fakes.clock.advance(minutes=2)
    with pytest.raises(GatewayUnavailable):
        payments.check_payment(world.ctx, world.mpesa, payment.id)
    assert world.payment(payment.id).checks == 0
    with pytest.raises(GatewayUnavailable):  # a callback waits for M-Pesa too: not flagged
        world.forge(world.success(payment))


def test_a_status_query_that_itself_keeps_failing_is_still_counted_and_alerted(
    world: World,
) -> None:
    payout = world.pending_payout()

    class Refusing(FakeB2c):
        def query_status(self, payout: Payout) -> str:
            raise GatewayRejected("500.001.1001", "Wrong credentials")

    for _ in range(payouts.ALERT_AFTER_CHECKS):
        with pytest.raises(GatewayRejected):
            payouts.check_status(world.ctx, Refusing(), payout.id)
    assert world.payout(payout.id).status_checks == payouts.ALERT_AFTER_CHECKS
    assert world.fakes.notifier.alerts[-1][1]["payout"] == payout.id


def test_a_payout_notice_lost_to_a_crash_is_given_when_the_answer_comes_again(
    world: World,
) -> None:
    payout = world.pending_payout()
    query = world.ask_status(payout)
    completed = status_result(query, original=payout.originator_conversation_id)
    world.fakes.notifications.fail_next_add = ConnectionError("died before telling")
    with pytest.raises(ConnectionError):
        payouts.apply_status_result(world.ctx, completed)
    assert payouts.apply_status_result(world.ctx, completed) is PayoutOutcome.REPEAT
    assert "payout_succeeded" in world.fakes.notifications.kinds_for(world.seller.id)


def test_a_lost_push_is_not_adopted_by_an_id_mpesa_says_failed(world: World) -> None:
    deal = world.open_deal()
    unknown = world.push(world.request(deal), GatewayOutcomeUnknown("read timeout"))
    claim = world.success(dataclasses.replace(unknown, checkout_request_id="ws_CO_other"))
    world.mpesa.knows("ws_CO_other", "1032")
    assert world.forge(claim).outcome is PaymentOutcome.CONTRADICTED
    kept = world.payment(unknown.id)
    assert kept.checkout_request_id is None and kept.is_open  # still waits for its own answer


def test_a_receipt_without_the_payers_phone_is_not_taken(world: World) -> None:
    _, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0")
    payments.check_payment(world.ctx, world.mpesa, payment.id)
    forged = world.success(payment, receipt="FAKE000001", phone=None)
    assert world.forge(forged).outcome is PaymentOutcome.MISMATCH
    assert world.payment(payment.id).receipt is None
    assert world.forge(world.success(payment)).outcome is PaymentOutcome.RECEIPT_ADDED


def test_a_settlement_is_announced_once_even_when_a_late_receipt_changes_the_deal(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    assert payment.checkout_request_id is not None
    world.mpesa.knows(payment.checkout_request_id, "0")
    payments.check_payment(world.ctx, world.mpesa, payment.id)
    lifecycle.release(world.ctx, world.buyer, deal.id)
    world.forge(world.success(payment))  # the receipt arrives after the release
    lifecycle.repair_settlements(world.ctx)
    assert world.fakes.notifications.kinds_for(world.seller.id).count("released") == 1
