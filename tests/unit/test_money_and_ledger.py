"""Money is whole shillings; every posting balances; balances always sum to zero."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import ledger
from domain.errors import InvalidInput
from domain.ledger import Line, Posting, UnbalancedPosting, balances, transfer
from domain.money import fee_for, require_amount

NOW = datetime(2026, 11, 24, tzinfo=UTC)


@pytest.mark.parametrize("amount", [1, 70, 250_000])
def test_whole_shillings_within_the_limits_are_accepted(amount: int) -> None:
    assert require_amount(amount) == amount


@pytest.mark.parametrize("amount", [0, -1, 250_001, True, 10.5, 100.0, "10", None])
def test_anything_else_is_refused_with_the_field_named(amount: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_amount(amount, "amount")
    assert refused.value.field == "amount"


@pytest.mark.parametrize(("amount", "bps", "fee"), [
    (1000, 0, 0), (1000, 250, 25), (999, 250, 24), (1, 9_999, 0), (100, 10_000, 100)])
def test_the_fee_is_rounded_down_to_a_whole_shilling(amount: int, bps: int, fee: int) -> None:
    assert fee_for(amount, bps) == fee


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_a_fee_rate_outside_0_to_100_percent_is_refused(bps: int) -> None:
    with pytest.raises(ValueError):
        fee_for(100, bps)


@pytest.mark.parametrize("lines", [
    (Line("a", 5), Line("b", -4)),  # unbalanced
    (Line("a", 5),),  # one line
    (Line("a", 0), Line("b", 0)),  # zero lines
    (Line("a", 5), Line("a", -5)),  # the same account twice
    (Line("a", 5.0), Line("b", -5.0)),  # type: ignore[arg-type]  # not whole shillings
])
def test_a_posting_that_does_not_balance_in_whole_shillings_is_refused(
    lines: tuple[Line, ...],
) -> None:
    with pytest.raises(UnbalancedPosting):
        Posting("k", "test", lines, NOW)


def test_funding_moves_money_from_clearing_into_the_deals_escrow() -> None:
    hold = ledger.fund_escrow("p1", "d1", 1500, NOW)
    assert hold.key == "payment:p1:fund" and hold.deal_id == "d1"
    assert hold.amount_for(ledger.CLEARING) == -1500
    assert hold.amount_for(ledger.escrow("d1")) == 1500
    assert balances([hold]) == {"mpesa:clearing": -1500, "escrow:d1": 1500}


ACCOUNTS = st.sampled_from(["mpesa:clearing", "escrow:d1", "escrow:d2", "wallet:u1",
                            "wallet:u2", "payouts:in_flight", "platform:fees"])


@given(st.lists(st.tuples(ACCOUNTS, ACCOUNTS, st.integers(1, 250_000)), max_size=60))
def test_any_sequence_of_transfers_keeps_the_ledger_summing_to_zero(
    moves: list[tuple[str, str, int]],
) -> None:
    postings = [transfer(f"k{i}", "test", source, target, amount, NOW)
                for i, (source, target, amount) in enumerate(moves) if source != target]
    totals = balances(postings)
    assert sum(totals.values()) == 0
    assert all(isinstance(value, int) for value in totals.values())
