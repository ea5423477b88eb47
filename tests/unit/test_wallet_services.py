"""Wallets and withdrawals: reserve at once, never spend the same money twice."""

from __future__ import annotations

from typing import Any

import pytest

from domain import ledger
from domain.errors import Conflict, IdempotencyMismatch, InvalidInput, NotFound
from domain.ledger import Posting
from domain.payouts import PayoutStatus
from domain.services import wallet
from tests.unit.world import PHONE, World


def _books(world: World) -> tuple[Any, ...]:
    fakes = world.fakes
    return (dict(fakes.ledger.postings), dict(fakes.payouts.rows), list(fakes.tasks.b2c_requests),
            list(fakes.notifier.wallets))


def test_a_withdrawal_reserves_the_money_at_once_and_enqueues_one_b2c(world: World) -> None:
    world.seller_wallet(1500)
    world.fakes.clock.advance(minutes=5)
    payout = world.withdraw(1000, "w1", "wh1")
    assert (payout.status, payout.amount, payout.phone, payout.user_id) == (
        PayoutStatus.QUEUED, 1000, PHONE, world.seller.id)
    assert (payout.idempotency_key, payout.request_hash) == ("w1", "wh1")
    assert payout.debit_key == f"wallet:{world.seller.id}:debit:1"
    assert world.payout(payout.id) == payout and payout.send_started_at is None
    assert world.balance(ledger.wallet(world.seller.id)) == 500
    assert world.balance(ledger.PAYOUTS_IN_FLIGHT) == 1000
    posting = world.fakes.ledger.get(payout.debit_key)
    assert posting is not None
    assert (posting.kind, posting.memo, posting.created_at) == (
        "payout_reserve", f"payout {payout.id}", world.fakes.clock.now())
    assert wallet.is_reserved(world.ctx, payout)
    assert world.fakes.tasks.b2c_requests == [payout.id]
    assert world.fakes.notifier.wallets[-1] == (world.seller.id, 500)


@pytest.mark.parametrize("amount", [10, 1500])
def test_a_withdrawal_may_take_anything_from_ten_shillings_to_the_whole_balance(
    world: World, amount: int,
) -> None:
    world.seller_wallet(1500)
    world.withdraw(amount)
    assert world.balance(ledger.wallet(world.seller.id)) == 1500 - amount


def test_a_replayed_withdrawal_returns_the_same_payout_and_moves_nothing_more(
    world: World,
) -> None:
    world.seller_wallet(1500)
    first = world.withdraw(400, "w1", "wh1")
    books = _books(world)
    world.fakes.clock.advance(minutes=1)
    assert world.withdraw(400, "w1", "wh1") == first
    assert _books(world) == books


@pytest.mark.parametrize("amount", [400, 999_999])  # the key is checked before anything else
def test_the_same_key_for_another_request_is_an_idempotency_mismatch(
    world: World, amount: int,
) -> None:
    world.seller_wallet(1500)
    world.withdraw(400, "w1", "wh1")
    books = _books(world)
    with pytest.raises(IdempotencyMismatch):
        world.withdraw(amount, "w1", "another hash")
    assert _books(world) == books


def test_withdrawing_more_than_the_balance_is_a_conflict_that_writes_nothing(
    world: World,
) -> None:
    world.seller_wallet(1500)
    books = _books(world)
    with pytest.raises(Conflict) as refused:
        world.withdraw(1501)
    assert "amount" in refused.value.details
    assert _books(world) == books
    assert world.fakes.payouts.rows == {}
    assert world.balance(ledger.wallet(world.seller.id)) == 1500


def test_a_user_with_an_empty_wallet_cannot_withdraw(world: World) -> None:
    with pytest.raises(Conflict):
        world.withdraw(10)
    assert world.fakes.payouts.rows == {} and world.fakes.ledger.postings == {}


@pytest.mark.parametrize("amount", [9, 0, -10, 250_001, 10.0, True, "100", None])
def test_a_withdrawal_outside_mpesas_limits_is_invalid(world: World, amount: object) -> None:
    world.seller_wallet(1500)
    books = _books(world)
    with pytest.raises(InvalidInput) as refused:
        world.withdraw(amount)  # type: ignore[arg-type]
    assert refused.value.field == "amount"
    assert _books(world) == books


def _race(world: World, first: int, second: int) -> dict[str, Any]:
    """``second`` reads the same debit count as ``first``; ``first`` posts just before it."""
    raced: dict[str, Any] = {}

    def first_slips_in(posting: Posting) -> None:
        raced["slot"] = posting.key
        raced["first"] = world.withdraw(first, "first", "h-first")

    world.fakes.ledger.before_next_post = first_slips_in
    try:
        raced["second"] = world.withdraw(second, "second", "h-second")
    except Conflict as refused:
        raced["refused"] = refused
    return raced


def test_two_withdrawals_racing_for_the_same_debit_slot_spend_the_money_once(
    world: World,
) -> None:
    world.seller_wallet(1000)
    raced = _race(world, 800, 800)
    assert raced["slot"] == f"wallet:{world.seller.id}:debit:1"
    assert "amount" in raced["refused"].details and "second" not in raced
    winner = raced["first"]
    assert list(world.fakes.payouts.rows) == [winner.id]  # the loser left nothing behind
    assert winner.debit_key == raced["slot"] and wallet.is_reserved(world.ctx, winner)
    assert world.balance(ledger.wallet(world.seller.id)) == 200
    assert world.balance(ledger.PAYOUTS_IN_FLIGHT) == 800
    assert world.fakes.tasks.b2c_requests == [winner.id]


def test_when_the_money_covers_both_the_racing_loser_takes_the_next_debit_slot(
    world: World,
) -> None:
    world.seller_wallet(2000)
    raced = _race(world, 800, 700)
    first, second = raced["first"], raced["second"]
    assert first.debit_key == f"wallet:{world.seller.id}:debit:1"
    assert second.debit_key == f"wallet:{world.seller.id}:debit:2"
    assert world.payout(second.id) == second
    assert wallet.is_reserved(world.ctx, first) and wallet.is_reserved(world.ctx, second)
    assert world.balance(ledger.wallet(world.seller.id)) == 500
    assert world.balance(ledger.PAYOUTS_IN_FLIGHT) == 1500
    assert world.fakes.tasks.b2c_requests == [first.id, second.id]


def test_a_withdrawal_that_keeps_losing_its_debit_slot_gives_up_and_leaves_nothing(
    world: World,
) -> None:
    world.seller_wallet(1500)
    real_count = world.fakes.ledger.count
    world.fakes.ledger.count = lambda account, kind: 0  # type: ignore[method-assign]
    world.withdraw(100, "first", "h1")  # debit:1 is taken …
    with pytest.raises(Conflict):  # … and every retry is handed the same slot
        world.withdraw(100, "second", "h2")
    world.fakes.ledger.count = real_count  # type: ignore[method-assign]
    assert len(world.fakes.payouts.rows) == 1
    assert world.balance(ledger.wallet(world.seller.id)) == 1400


def test_the_wallet_view_shows_the_balance_and_the_newest_entries_first_with_signs(
    world: World,
) -> None:
    world.seller_wallet(1500)
    payout = world.withdraw(600)
    view = wallet.wallet_view(world.ctx, world.seller)
    assert (view["balance"], view["currency"]) == (900, "KES")
    assert [(e["kind"], e["amount"]) for e in view["entries"]] == [
        ("payout_reserve", -600), ("released", 1500)]
    assert view["entries"][0]["key"] == payout.debit_key
    assert view["entries"][0]["memo"] == f"payout {payout.id}"
    assert view["entries"][1]["dealId"] is not None
    assert wallet.wallet_view(world.ctx, world.buyer) == {
        "balance": 0, "currency": "KES", "entries": []}


def test_a_withdrawal_is_shown_to_its_owner_and_admins_only(world: World) -> None:
    world.seller_wallet(1500)
    payout = world.withdraw(600)
    for viewer in (world.seller, world.admin()):
        assert wallet.visible_payout(world.ctx, viewer, payout.id) == payout
    for viewer, payout_id in ((world.buyer, payout.id), (world.seller, "no-such-payout")):
        with pytest.raises(NotFound):
            wallet.visible_payout(world.ctx, viewer, payout_id)
