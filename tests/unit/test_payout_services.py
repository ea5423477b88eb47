"""The workers' half of a withdrawal: send the B2C at most once, then believe only M-Pesa."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain import ledger
from domain.errors import ConcurrencyError
from domain.mpesa import ResultReport
from domain.payouts import Payout, PayoutStatus
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from domain.services import payouts
from domain.services.payouts import PayoutOutcome
from tests.unit.fakes import FakeB2c
from tests.unit.world import World, b2c_result, status_result


def _queued(world: World, amount: int = 1000) -> Payout:
    world.seller_wallet(1500)
    return world.withdraw(amount)


def _pending(world: World, amount: int = 1000) -> Payout:
    return world.pending_payout(amount)


def _money(world: World) -> tuple[int, int, int]:
    """(seller's wallet, payouts in flight, M-Pesa clearing)."""
    return (world.balance(ledger.wallet(world.seller.id)),
            world.balance(ledger.PAYOUTS_IN_FLIGHT), world.balance(ledger.CLEARING))


def _books(world: World) -> tuple[Any, ...]:
    return (dict(world.fakes.ledger.postings), dict(world.fakes.payouts.rows),
            list(world.fakes.tasks.status_queries), dict(world.fakes.notifications.rows))


def test_an_accepted_b2c_makes_the_payout_pending_with_its_conversation_id(world: World) -> None:
    payout = _queued(world)
    gateway = FakeB2c("AG_20261124_abc")
    world.fakes.clock.advance(seconds=3)
    sent = payouts.send_b2c(world.ctx, gateway, payout.id)
    assert sent == world.payout(payout.id)
    assert (sent.status, sent.conversation_id, sent.send_started_at) == (
        PayoutStatus.PENDING, "AG_20261124_abc", world.fakes.clock.now())
    assert gateway.paid == [payout.id]
    assert _money(world) == (500, 1000, -1500)  # nothing settles before M-Pesa's result
    assert payouts.send_b2c(world.ctx, gateway, payout.id) == sent  # a redelivery: no-op
    assert gateway.paid == [payout.id]


def test_a_rejected_b2c_fails_the_payout_and_returns_the_money(world: World) -> None:
    payout = _queued(world)
    failed = payouts.send_b2c(world.ctx, FakeB2c(GatewayRejected("401.002.01", "bad creds")),
                              payout.id)
    assert failed is not None and failed == world.payout(payout.id)
    assert (failed.status, failed.result_code, failed.result_desc) == (
        PayoutStatus.FAILED, "401.002.01", "bad creds")
    assert _money(world) == (1500, 0, -1500)
    assert _outcome_posting(world, payout) == "payout_return"
    assert world.fakes.notifier.wallets[-1] == (world.seller.id, 1500)
    assert world.fakes.notifications.kinds_for(world.seller.id)[-1] == "payout_failed"


def test_an_unavailable_gateway_releases_the_claim_so_the_retry_sends(world: World) -> None:
    payout = _queued(world)
    gateway = FakeB2c(GatewayUnavailable("503"))
    with pytest.raises(GatewayUnavailable):
        payouts.send_b2c(world.ctx, gateway, payout.id)
    released = world.payout(payout.id)
    assert (released.status, released.send_started_at) == (PayoutStatus.QUEUED, None)
    sent = payouts.send_b2c(world.ctx, gateway, payout.id)
    assert sent is not None and sent.status is PayoutStatus.PENDING
    assert gateway.paid == [payout.id, payout.id]
    assert _money(world) == (500, 1000, -1500)


def test_an_unknown_outcome_makes_the_payout_pending_and_asks_transaction_status(
    world: World,
) -> None:
    payout = _queued(world)
    pending = payouts.send_b2c(world.ctx, FakeB2c(GatewayOutcomeUnknown("read timeout")),
                               payout.id)
    assert pending is not None
    assert (pending.status, pending.conversation_id) == (PayoutStatus.PENDING, None)
    assert world.fakes.tasks.status_queries == [(payout.id, payouts.QUERY_AFTER_UNKNOWN_S)]
    assert _money(world) == (500, 1000, -1500)  # never failed, never returned


def test_a_redelivery_after_a_crash_mid_send_never_sends_again(world: World) -> None:
    payout = _queued(world)
    claimed = payout.sending(world.fakes.clock.now())  # the first run claimed, then died
    world.fakes.payouts.save(claimed, expected_version=payout.version)
    gateway = FakeB2c()
    pending = payouts.send_b2c(world.ctx, gateway, payout.id)
    assert pending is not None and pending.status is PayoutStatus.PENDING
    assert gateway.paid == []
    assert world.fakes.tasks.status_queries == [(payout.id, payouts.QUERY_AFTER_UNKNOWN_S)]
    assert _money(world) == (500, 1000, -1500)


def test_a_payout_whose_money_was_never_reserved_fails_without_returning_anything(
    world: World,
) -> None:
    world.seller_wallet(1500)
    world.fakes.ledger.fail_next_post = ConnectionError("died before the debit")
    with pytest.raises(ConnectionError):
        world.withdraw(1000)
    [payout] = world.fakes.payouts.rows.values()
    gateway = FakeB2c()
    waiting = payouts.send_b2c(world.ctx, gateway, payout.id)  # its request may still be
    assert waiting is not None and waiting.status is PayoutStatus.QUEUED  # reserving it
    world.fakes.clock.advance(minutes=11)
    failed = payouts.send_b2c(world.ctx, gateway, payout.id)
    assert failed is not None
    assert (failed.status, failed.result_code) == (PayoutStatus.FAILED, "NOT_RESERVED")
    assert gateway.paid == []
    assert _money(world) == (1500, 0, -1500)
    assert _outcome_posting(world, payout) is None


def _outcome_posting(world: World, payout: Payout) -> str | None:
    posting = world.fakes.ledger.get(ledger.payout_outcome_key(payout.id))
    return None if posting is None else posting.kind


def test_a_successful_b2c_result_only_asks_transaction_status_whose_answer_settles_once(
    world: World,
) -> None:
    payout = _pending(world)
    report = b2c_result(payout, receipt="TK41XXJ8PB")
    assert payouts.apply_b2c_result(world.ctx, report) is PayoutOutcome.VERIFYING
    assert world.fakes.tasks.status_queries == [(payout.id, 0)]
    assert world.payout(payout.id).status is PayoutStatus.PENDING
    assert _money(world) == (500, 1000, -1500)  # the claim moved nothing
    assert world.confirm_payout(payout) is PayoutOutcome.PAID
    done = world.payout(payout.id)
    assert (done.status, done.receipt, done.result_code) == (
        PayoutStatus.SUCCESS, "TK41STATUS", "0")  # M-Pesa's own receipt, not the claim's
    assert _money(world) == (500, 0, -500)
    assert _outcome_posting(world, payout) == "payout_settle"
    assert world.fakes.notifications.kinds_for(world.seller.id)[-1] == "payout_succeeded"
    books = _books(world)
    assert payouts.apply_b2c_result(world.ctx, report) is PayoutOutcome.REPEAT
    assert payouts.apply_b2c_result(world.ctx, b2c_result(payout, "2001")) is (
        PayoutOutcome.CONTRADICTED)
    assert _books(world) == books


def test_a_failed_b2c_result_returns_no_money_until_transaction_status_confirms_it(
    world: World,
) -> None:
    payout = _pending(world)
    report = b2c_result(payout, "2001")
    assert payouts.apply_b2c_result(world.ctx, report) is PayoutOutcome.VERIFYING
    assert world.payout(payout.id).status is PayoutStatus.PENDING
    assert _money(world) == (500, 1000, -1500)  # no refund on the result's word
    assert world.confirm_payout(payout, "Declined") is PayoutOutcome.RETURNED
    done = world.payout(payout.id)
    assert (done.status, done.result_code) == (PayoutStatus.FAILED, "DECLINED")
    assert _money(world) == (1500, 0, -1500)
    assert _outcome_posting(world, payout) == "payout_return"
    books = _books(world)
    assert payouts.apply_b2c_result(world.ctx, report) is PayoutOutcome.REPEAT
    assert payouts.apply_b2c_result(world.ctx, b2c_result(payout)) is PayoutOutcome.CONTRADICTED
    assert _books(world) == books


@pytest.mark.parametrize("amount", [999, "1000.50", 1001, "lots"])
def test_a_success_for_another_amount_is_a_mismatch_and_moves_nothing(
    world: World, amount: object,
) -> None:
    payout = _pending(world, 1000)
    books = _books(world)
    assert payouts.apply_b2c_result(world.ctx, b2c_result(payout, amount=amount)) is (
        PayoutOutcome.MISMATCH)
    assert _books(world) == books  # not even a status query
    assert payouts.apply_b2c_result(world.ctx, b2c_result(payout, amount="1000.00")) is (
        PayoutOutcome.VERIFYING)


def test_a_result_for_a_payout_we_never_made_is_reported_as_unknown(world: World) -> None:
    payout = _pending(world)
    stranger = Payout("nobody", **{k: getattr(payout, k) for k in (
        "user_id", "amount", "phone", "idempotency_key", "request_hash", "debit_key",
        "created_at", "updated_at")}, originator_conversation_id="escrow-nobody")
    books = _books(world)
    assert payouts.apply_b2c_result(world.ctx, b2c_result(stranger)) is (
        PayoutOutcome.UNKNOWN_PAYOUT)
    assert payouts.apply_b2c_timeout(world.ctx, b2c_result(stranger)) is (
        PayoutOutcome.UNKNOWN_PAYOUT)
    assert payouts.apply_status_result(world.ctx, status_result("status-nobody-1")) is (
        PayoutOutcome.UNKNOWN_PAYOUT)
    assert _books(world) == books


def test_a_queue_timeout_asks_transaction_status_and_moves_nothing(world: World) -> None:
    payout = _pending(world)
    money = _money(world)
    timeout = b2c_result(payout, "SFC_IC0003")
    assert payouts.apply_b2c_timeout(world.ctx, timeout) is PayoutOutcome.STATUS_QUERIED
    assert world.fakes.tasks.status_queries == [(payout.id, 0)]
    assert world.payout(payout.id).status is PayoutStatus.PENDING and _money(world) == money
    assert world.confirm_payout(payout) is PayoutOutcome.PAID
    assert payouts.apply_b2c_timeout(world.ctx, timeout) is PayoutOutcome.REPEAT
    assert len(world.fakes.tasks.status_queries) == 1


def _asked(world: World) -> tuple[Payout, str]:
    payout = _pending(world)
    gateway = FakeB2c()
    checked = payouts.check_status(world.ctx, gateway, payout.id)
    assert checked is not None and checked.status_checks == 1
    [(query_id, payout_id)] = world.fakes.payouts.status_queries.items()
    assert (query_id, payout_id) == (f"status-{payout.id}-1", payout.id)
    return payout, query_id


def _answer(payout: Payout, query_id: str, code: str = "0",
            state: str | None = "Completed") -> ResultReport:
    return status_result(query_id, code, state, original=payout.originator_conversation_id)


def test_a_status_check_asks_only_about_a_pending_payout(world: World) -> None:
    payout, query_id = _asked(world)
    assert world.fakes.payouts.by_status_query(query_id) == world.payout(payout.id)
    assert world.fakes.payouts.by_conversation(query_id) is None  # the query's id is its own
    gateway = FakeB2c()
    other = world.withdraw(200, "w2", "wh2")
    assert payouts.check_status(world.ctx, gateway, other.id) == other
    assert gateway.queried == []


@pytest.mark.parametrize("names_the_payout", [True, False])
def test_a_completed_status_settles_the_payout_with_its_receipt(
    world: World, names_the_payout: bool,
) -> None:
    payout, query_id = _asked(world)
    report = _answer(payout, query_id) if names_the_payout else status_result(query_id)
    assert payouts.apply_status_result(world.ctx, report) is PayoutOutcome.PAID
    done = world.payout(payout.id)
    assert (done.status, done.receipt) == (PayoutStatus.SUCCESS, "TK41STATUS")
    assert _money(world) == (500, 0, -500)
    assert payouts.apply_status_result(world.ctx, report) is PayoutOutcome.REPEAT
    assert _money(world) == (500, 0, -500)


def test_a_status_result_matched_only_by_the_payouts_own_originator_id_moves_nothing(
    world: World,
) -> None:
    payout, _ = _asked(world)
    books = _books(world)
    for forged in (status_result("unrelated", original=payout.originator_conversation_id),
                   status_result(payout.originator_conversation_id, state="Declined")):
        assert payouts.apply_status_result(world.ctx, forged) is PayoutOutcome.UNKNOWN_PAYOUT
    assert _books(world) == books and world.payout(payout.id).status is PayoutStatus.PENDING


@pytest.mark.parametrize(("code", "state"), [
    ("0", "Declined"), ("0", "Cancelled"), ("0", "Expired"), ("0", "Failed")])
def test_a_failed_status_fails_the_payout_and_returns_the_money(
    world: World, code: str, state: str | None,
) -> None:
    payout, query_id = _asked(world)
    assert payouts.apply_status_result(world.ctx, _answer(payout, query_id, code, state)) is (
        PayoutOutcome.RETURNED)
    assert world.payout(payout.id).status is PayoutStatus.FAILED
    assert _money(world) == (1500, 0, -1500)


@pytest.mark.parametrize(("code", "state"), [("2032", None), ("0", "Pending"), ("0", None),
                                             ("2001", None), ("26", None)])
def test_a_status_that_does_not_know_yet_changes_nothing(
    world: World, code: str, state: str | None,
) -> None:
    payout, query_id = _asked(world)
    books = _books(world)
    assert payouts.apply_status_result(world.ctx, _answer(payout, query_id, code, state)) is (
        PayoutOutcome.NOT_KNOWN_YET)
    assert _books(world) == books
    assert world.payout(payout.id).status is PayoutStatus.PENDING


def test_a_status_contradicting_a_final_payout_is_alerted_and_moves_nothing(
    world: World,
) -> None:
    payout, query_id = _asked(world)
    assert payouts.apply_status_result(world.ctx, _answer(payout, query_id)) is (
        PayoutOutcome.PAID)
    books = _books(world)
    failed = _answer(payout, query_id, "0", "Declined")
    assert payouts.apply_status_result(world.ctx, failed) is PayoutOutcome.CONTRADICTED
    assert [c["payout"] for _, c in world.fakes.notifier.alerts] == [payout.id]
    assert payouts.apply_status_result(world.ctx, _answer(payout, query_id, "2032", None)) is (
        PayoutOutcome.NOT_KNOWN_YET)
    assert _books(world) == books


def test_the_reconciler_asks_about_stale_pending_and_requeues_stale_queued_payouts(
    world: World,
) -> None:
    world.seller_wallet(5000)
    stale_pending = payouts.send_b2c(world.ctx, FakeB2c(), world.withdraw(100, "a", "a").id)
    stale_queued = world.withdraw(100, "b", "b")
    assert stale_pending is not None
    world.fakes.clock.advance(minutes=10)
    fresh_pending = payouts.send_b2c(world.ctx, FakeB2c(), world.withdraw(100, "c", "c").id)
    fresh_queued = world.withdraw(100, "d", "d")
    assert fresh_pending is not None
    tasks = world.fakes.tasks
    tasks.b2c_requests.clear()
    counts = payouts.reconcile(world.ctx, world.fakes.clock.now(), timedelta(minutes=5),
                               timedelta(minutes=2))
    assert counts == {"status_queries": 1, "requeued": 1, "repaired": 0}
    assert tasks.status_queries == [(stale_pending.id, 0)]
    assert tasks.b2c_requests == [stale_queued.id]
    assert fresh_queued.id not in tasks.b2c_requests


def test_a_result_that_beats_our_record_of_sending_is_retried_not_dropped(world: World) -> None:
    world.seller_wallet(1000)
    payout = world.withdraw(300)  # queued: the worker has not recorded the send yet
    with pytest.raises(ConcurrencyError):
        payouts.apply_b2c_result(world.ctx, b2c_result(payout))
    assert world.payout(payout.id).status is PayoutStatus.QUEUED

