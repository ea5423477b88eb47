"""The model behind the escrow property test: what every account should hold, and checks.

``EscrowModel`` keeps a marketplace (the fakes) and, beside it, the model's own account of
each deal's state and each person's money. Its invariants run after every step of the
state machine in ``test_escrow_properties``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from itertools import count
from typing import TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant

from domain import ledger
from domain.deals import Deal, DealStatus
from domain.errors import Conflict
from domain.mpesa import ResultReport, StkResult
from domain.payments import Payment
from domain.payouts import PayoutStatus
from domain.services.context import Context
from domain.users import User
from tests.unit.world import World

S = DealStatus
HELD = (S.ACTIVE, S.DISPUTED)
Callback = tuple[str, StkResult | ResultReport]
T = TypeVar("T")


class EscrowModel(RuleBasedStateMachine):
    """What the books should hold; the rules live in the test module."""

    def __init__(self) -> None:
        super().__init__()
        self.world = World.build()
        self.world.fakes.payments.one_prompt_per_phone = False  # one phone pays many deals
        w = self.world
        self.buyers = [w.buyer, w.register("b2@example.com", "buyer")]
        self.sellers = [w.seller, w.register("s2@example.com", "seller")]
        self.admin = w.admin()
        self.keys = count()
        self.status: dict[str, DealStatus] = {}  # the model's deal states
        self.inspection_ends: dict[str, datetime] = {}
        self.open_payments: dict[str, Payment] = {}  # deal id -> its pending payment
        self.payouts: dict[str, PayoutStatus] = {}
        self.wallets: dict[str, int] = defaultdict(int)
        self.fees = self.funded = self.paid_out = 0
        self.callbacks: list[Callback] = []

    @property
    def ctx(self) -> Context:
        return self.world.ctx

    @staticmethod
    def expect(allowed: bool, call: Callable[[], T],
               refusal: type[Exception] = Conflict) -> T | None:
        """Run ``call``; it must succeed when ``allowed`` and be refused otherwise."""
        if allowed:
            return call()
        with pytest.raises(refusal):
            call()
        return None

    def _user(self, user_id: str) -> User:
        user = self.world.fakes.users.get(user_id)
        assert user is not None
        return user

    def _deal(self, data: st.DataObject, likely: DealStatus) -> Deal:
        """Mostly a deal in the ``likely`` state (if any), else any deal at all."""
        likely_ids = sorted(d for d, s in self.status.items() if s is likely)
        aim = data.draw(st.integers(0, 3)) > 0
        pool = likely_ids if likely_ids and aim else sorted(self.status)
        return self.world.deal(data.draw(st.sampled_from(pool)))

    def _in(self, state: PayoutStatus, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(p for p, s in self.payouts.items() if s is state)))

    def _settled(self, deal: Deal, seller_share: int, status: DealStatus) -> None:
        fee = seller_share * self.world.fakes.fee_rate_bps // 10_000
        self.wallets[deal.seller_id] += seller_share - fee
        self.wallets[deal.buyer_id] += deal.amount - seller_share
        self.fees += fee
        self.status[deal.id] = status

    def _payout_failed(self, payout_id: str) -> None:
        payout = self.world.payout(payout_id)
        self.payouts[payout_id] = PayoutStatus.FAILED
        self.wallets[payout.user_id] += payout.amount

    def _payout_paid(self, payout_id: str) -> None:
        self.payouts[payout_id] = PayoutStatus.SUCCESS
        self.paid_out += self.world.payout(payout_id).amount

    @invariant()
    def every_posting_is_balanced_in_whole_shillings_and_nothing_but_clearing_is_negative(
        self,
    ) -> None:
        postings = list(self.world.fakes.ledger.postings.values())
        for posting in postings:
            assert all(type(line.amount) is int for line in posting.lines), posting
            assert sum(line.amount for line in posting.lines) == 0, posting
        totals = ledger.balances(postings)
        assert sum(totals.values()) == 0
        assert {a: v for a, v in totals.items() if v < 0 and a != ledger.CLEARING} == {}

    @invariant()
    def no_escrow_pays_out_more_than_came_in(self) -> None:
        for deal_id, status in self.status.items():
            deal, account = self.world.deal(deal_id), ledger.escrow(deal_id)
            assert deal.status is status
            book = self.world.fakes.ledger
            lines = [line.amount for p in book.postings_for_account(account, 10**6)
                     for line in p.lines if line.account == account]
            assert -sum(a for a in lines if a < 0) <= sum(a for a in lines if a > 0)
            assert self.world.balance(account) == (deal.amount if status in HELD else 0)

    @invariant()
    def every_wallet_fee_and_payout_account_holds_what_the_model_says(self) -> None:
        for user in self.buyers + self.sellers:
            assert self.world.balance(ledger.wallet(user.id)) == self.wallets[user.id]
        in_flight = sum(self.world.payout(p).amount for p, s in self.payouts.items()
                        if s in (PayoutStatus.QUEUED, PayoutStatus.PENDING))
        assert self.world.balance(ledger.PAYOUTS_IN_FLIGHT) == in_flight
        assert self.world.balance(ledger.FEES) == self.fees
        assert self.world.balance(ledger.CLEARING) == self.paid_out - self.funded
        assert {p: self.world.payout(p).status for p in self.payouts} == self.payouts
