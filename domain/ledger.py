"""Double-entry ledger: every movement of money is one balanced, immutable posting.

Signs: an account's balance is the sum of its line amounts. Money held for people (escrow,
wallets, payouts in flight, fees) is positive; ``mpesa:clearing`` mirrors what M-Pesa holds
for us and goes negative by the same amount, so the sum over all accounts is always zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

CLEARING = "mpesa:clearing"
PAYOUTS_IN_FLIGHT = "payouts:in_flight"
FEES = "platform:fees"


def escrow(deal_id: str) -> str:
    return f"escrow:{deal_id}"


def wallet(user_id: str) -> str:
    return f"wallet:{user_id}"


class UnbalancedPosting(ValueError):
    """Lines that do not sum to zero, or amounts that are not whole shillings."""


class PostingConflict(RuntimeError):
    """A different posting already holds this key (for a wallet debit: someone else took
    this debit slot first)."""


@dataclass(frozen=True)
class Line:
    account: str
    amount: int


@dataclass(frozen=True)
class Posting:
    """One business step's money movement; ``key`` makes writing it twice a no-op."""

    key: str
    kind: str
    lines: tuple[Line, ...]
    created_at: datetime
    deal_id: str | None = None
    memo: str | None = None

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise UnbalancedPosting("a posting needs at least two lines")
        for line in self.lines:
            if isinstance(line.amount, bool) or not isinstance(line.amount, int):
                raise UnbalancedPosting(f"{line.account}: amount must be an int")
            if line.amount == 0:
                raise UnbalancedPosting(f"{line.account}: a line cannot be zero")
        if len({line.account for line in self.lines}) != len(self.lines):
            raise UnbalancedPosting("an account appears twice in one posting")
        if sum(line.amount for line in self.lines) != 0:
            raise UnbalancedPosting("lines must sum to zero")

    def amount_for(self, account: str) -> int:
        return sum(line.amount for line in self.lines if line.account == account)


def transfer(
    key: str, kind: str, source: str, target: str, amount: int, now: datetime,
    deal_id: str | None = None, memo: str | None = None,
) -> Posting:
    """Move ``amount`` from ``source`` to ``target``."""
    return Posting(key, kind, (Line(source, -amount), Line(target, amount)), now, deal_id, memo)


def fund_escrow(payment_id: str, deal_id: str, amount: int, now: datetime) -> Posting:
    """An STK payment confirmed by M-Pesa: the money is now held for the deal."""
    return transfer(
        f"payment:{payment_id}:fund", "escrow_hold", CLEARING, escrow(deal_id), amount, now,
        deal_id=deal_id, memo=f"payment {payment_id}",
    )


def settle_escrow(
    deal_id: str, buyer_id: str, seller_id: str, seller_amount: int, buyer_amount: int, fee: int,
    kind: str, now: datetime,
) -> Posting:
    """Empty a deal's escrow: the seller's share less the fee, the fee, the buyer's share."""
    if min(seller_amount, buyer_amount, fee) < 0 or fee > seller_amount:
        raise UnbalancedPosting("shares and fee must be whole, non-negative shillings")
    held = seller_amount + buyer_amount
    candidates = (
        Line(escrow(deal_id), -held),
        Line(wallet(seller_id), seller_amount - fee),
        Line(FEES, fee),
        Line(wallet(buyer_id), buyer_amount),
    )
    lines = tuple(line for line in candidates if line.amount != 0)
    return Posting(f"deal:{deal_id}:settle", kind, lines, now, deal_id=deal_id)


def reserve_payout(user_id: str, seq: int, payout_id: str, amount: int, now: datetime) -> Posting:
    """Move a withdrawal out of the wallet at once. ``seq`` (the wallet's n-th debit) makes two
    concurrent withdrawals collide on the key, so only one can spend the same money."""
    return transfer(f"{wallet(user_id)}:debit:{seq}", "payout_reserve", wallet(user_id),
                    PAYOUTS_IN_FLIGHT, amount, now, memo=f"payout {payout_id}")


def payout_outcome_key(payout_id: str) -> str:
    """Paid or returned share one key: a payout can never be both (the second is a conflict)."""
    return f"payout:{payout_id}:outcome"


def settle_payout(payout_id: str, amount: int, now: datetime) -> Posting:
    """M-Pesa paid the customer: the money has left our shortcode."""
    return transfer(payout_outcome_key(payout_id), "payout_settle", PAYOUTS_IN_FLIGHT, CLEARING,
                    amount, now, memo=f"payout {payout_id}")


def return_payout(payout_id: str, user_id: str, amount: int, now: datetime) -> Posting:
    """M-Pesa did not pay: the money goes back to the wallet."""
    return transfer(payout_outcome_key(payout_id), "payout_return", PAYOUTS_IN_FLIGHT,
                    wallet(user_id), amount, now, memo=f"payout {payout_id}")


def balances(postings: Iterable[Posting]) -> dict[str, int]:
    """Every account's balance, projected from postings."""
    totals: dict[str, int] = {}
    for posting in postings:
        for line in posting.lines:
            totals[line.account] = totals.get(line.account, 0) + line.amount
    return totals
