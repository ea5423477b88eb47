"""Money is whole shillings; every posting balances; balances always sum to zero."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import ledger
from domain.errors import InvalidInput
from domain.ledger import Line, Posting, UnbalancedPosting, balances, transfer
from domain.money import MAX_AMOUNT, MIN_AMOUNT, fee_for, require_amount

NOW = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("amount", [1, 2, 1500, 249_999, 250_000])
def test_whole_shillings_from_one_to_the_mpesa_cap_are_accepted(amount: int) -> None:
    assert require_amount(amount) == amount
    assert (MIN_AMOUNT, MAX_AMOUNT) == (1, 250_000)


@pytest.mark.parametrize("amount", [0, -1, 250_001, 10**12])
def test_amounts_outside_one_to_250000_are_refused(amount: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_amount(amount)
    assert refused.value.field == "amount"
    assert refused.value.details == {"amount": ["must be between 1 and 250000"]}


@pytest.mark.parametrize("amount", [True, False, 10.5, 100.0, "10", None, Decimal("10")])
def test_anything_that_is_not_an_int_is_refused_even_if_it_looks_like_one(amount: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_amount(amount, "price")
    assert refused.value.field == "price"
    assert refused.value.message == "must be a whole number of shillings"


@pytest.mark.parametrize(("amount", "bps", "fee"), [
    (1000, 0, 0), (1000, 250, 25), (999, 250, 24), (1, 9_999, 0), (100, 10_000, 100),
    (250_000, 150, 3_750), (199, 50, 0)])
def test_the_fee_is_rounded_down_to_a_whole_shilling(amount: int, bps: int, fee: int) -> None:
    result = fee_for(amount, bps)
    assert result == fee and type(result) is int


@settings(database=None)  # no example database on disk: no I/O
@given(st.integers(1, 250_000), st.integers(0, 10_000))
def test_the_fee_never_exceeds_the_amount_nor_the_exact_share(amount: int, bps: int) -> None:
    fee = fee_for(amount, bps)
    assert 0 <= fee <= amount
    assert fee * 10_000 <= amount * bps < (fee + 1) * 10_000


@pytest.mark.parametrize("bps", [-1, 10_001, -10_000])
def test_a_fee_rate_outside_0_to_100_percent_is_refused(bps: int) -> None:
    with pytest.raises(ValueError, match="basis points"):
        fee_for(100, bps)


def test_a_fractional_fee_rate_is_refused_rather_than_producing_a_float_fee() -> None:
    with pytest.raises(ValueError):
        fee_for(1000, 250.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("lines", "why"), [
    ((Line("a", 5), Line("b", -4)), "lines must sum to zero"),
    ((Line("a", 5),), "at least two lines"),
    ((), "at least two lines"),
    ((Line("a", 0), Line("b", 0)), "cannot be zero"),
    ((Line("a", 5), Line("b", 0), Line("c", -5)), "cannot be zero"),
    ((Line("a", 5), Line("a", -5)), "appears twice"),
    ((Line("a", 5.0), Line("b", -5.0)), "must be an int"),
    ((Line("a", Decimal(5)), Line("b", Decimal(-5))), "must be an int"),
    ((Line("a", True), Line("b", -1)), "must be an int"),
])
def test_a_posting_that_is_not_balanced_whole_shillings_is_refused(
    lines: tuple[Line, ...], why: str,
) -> None:
    with pytest.raises(UnbalancedPosting, match=why):
        Posting("k", "test", lines, NOW)


def test_a_balanced_posting_over_three_accounts_is_accepted() -> None:
    fee = Posting("k", "release", (Line("escrow:d1", -1000), Line("wallet:s1", 975),
                                   Line("platform:fees", 25)), NOW)
    assert [fee.amount_for(a) for a in ("escrow:d1", "wallet:s1", "platform:fees", "x")] == [
        -1000, 975, 25, 0]


def test_a_transfer_takes_from_the_source_and_gives_to_the_target() -> None:
    move = transfer("k1", "refund", "escrow:d1", "wallet:b1", 700, NOW, deal_id="d1", memo="m")
    assert move.lines == (Line("escrow:d1", -700), Line("wallet:b1", 700))
    assert (move.key, move.kind, move.deal_id, move.memo, move.created_at) == (
        "k1", "refund", "d1", "m", NOW)


def test_funding_moves_money_from_clearing_into_the_deals_escrow() -> None:
    hold = ledger.fund_escrow("p1", "d1", 1500, NOW)
    assert (hold.key, hold.kind, hold.deal_id) == ("payment:p1:fund", "escrow_hold", "d1")
    assert hold.amount_for(ledger.CLEARING) == -1500 < 0
    assert hold.amount_for(ledger.escrow("d1")) == 1500 > 0
    assert sum(line.amount for line in hold.lines) == 0
    assert balances([hold]) == {"mpesa:clearing": -1500, "escrow:d1": 1500}


def test_account_names_follow_the_documented_scheme() -> None:
    assert (ledger.escrow("d1"), ledger.wallet("u1")) == ("escrow:d1", "wallet:u1")
    assert (ledger.CLEARING, ledger.FEES, ledger.PAYOUTS_IN_FLIGHT) == (
        "mpesa:clearing", "platform:fees", "payouts:in_flight")


def test_balances_add_up_every_line_of_every_posting() -> None:
    postings = [ledger.fund_escrow("p1", "d1", 1500, NOW),
                transfer("r1", "release", "escrow:d1", "wallet:s1", 1500, NOW),
                ledger.fund_escrow("p2", "d2", 300, NOW)]
    assert balances(postings) == {"mpesa:clearing": -1800, "escrow:d1": 0, "wallet:s1": 1500,
                                  "escrow:d2": 300}
    assert balances([]) == {}


ACCOUNTS = st.sampled_from(["mpesa:clearing", "escrow:d1", "escrow:d2", "wallet:u1",
                            "wallet:u2", "payouts:in_flight", "platform:fees"])
TRANSFERS = st.lists(
    st.tuples(ACCOUNTS, ACCOUNTS, st.integers(1, 250_000)).filter(lambda t: t[0] != t[1]),
    max_size=60,
)


@settings(database=None)  # no example database on disk: no I/O
@given(TRANSFERS)
def test_any_sequence_of_transfers_keeps_the_ledger_summing_to_zero(
    moves: list[tuple[str, str, int]],
) -> None:
    postings = [transfer(f"k{i}", "test", source, target, amount, NOW)
                for i, (source, target, amount) in enumerate(moves)]
    totals = balances(postings)
    assert sum(totals.values()) == 0
    assert all(type(value) is int for value in totals.values())
    assert len(totals) <= 7


@settings(database=None)  # no example database on disk: no I/O
@given(st.lists(st.integers(-250_000, 250_000).filter(bool), min_size=1, max_size=6,
                unique=True))
def test_any_lines_closed_by_a_balancing_line_make_a_valid_posting(amounts: list[int]) -> None:
    lines = [Line(f"acct:{i}", amount) for i, amount in enumerate(amounts)]
    rest = -sum(amounts)
    if rest == 0:
        with pytest.raises(UnbalancedPosting):
            Posting("k", "test", (*lines, Line("closing", rest)), NOW)
        return
    posting = Posting("k", "test", (*lines, Line("closing", rest)), NOW)
    assert sum(balances([posting]).values()) == 0
