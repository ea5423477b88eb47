"""Any sequence of operations, allowed or refused, keeps the books exact (Hypothesis, stateful).

A model predicts each step: which refusals must happen, where every shilling goes. After every
step the ledger is checked against the model and against the invariants in ARCHITECTURE.md.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test

from domain.deals import Deal, DealStatus
from domain.errors import InvalidInput
from domain.mpesa import ResultReport, StkResult
from domain.payments import PaymentOutcome
from domain.payouts import PayoutStatus
from domain.ports import GatewayOutcomeUnknown, GatewayRejected
from domain.services import deals, lifecycle, payments, payouts, wallet
from domain.services.deals import DealTerms
from domain.services.payouts import PayoutOutcome
from tests.unit.escrow_model import EscrowModel
from tests.unit.fakes import FakeB2c, ScriptedGateway
from tests.unit.world import PHONE, b2c_result, status_result

S = DealStatus
AMOUNTS = st.integers(1, 3_000) | st.sampled_from([1, 2, 10, 249_999, 250_000])


class EscrowMachine(EscrowModel):
    """Every operation of the issue, as a rule; refusals only where the model predicts them."""

    @initialize(rate=st.sampled_from([0, 1, 250, 1_000, 10_000]))
    def fee_rate(self, rate: int) -> None:
        self.world.fakes.fee_rate_bps = rate

    @rule(buyer=st.integers(0, 1), seller=st.integers(0, 1), amount=AMOUNTS,
          days=st.integers(1, 30), due_in_hours=st.none() | st.integers(1, 24 * 40),
          fund=st.booleans())
    def open_deal(self, buyer: int, seller: int, amount: int, days: int,
                  due_in_hours: int | None, fund: bool) -> None:
        now = self.world.fakes.clock.now()
        due = None if due_in_hours is None else now + timedelta(hours=due_in_hours)
        terms = DealTerms("Thing", "A thing", amount, seller_id=self.sellers[seller].id,
                          inspection_days=days, due_date=due)
        deal = deals.open_deal(self.ctx, self.buyers[buyer].id, terms)
        self.status[deal.id] = S.PENDING
        if fund:  # most deals get paid for: keep funded ones common
            self._pay(deal, settle_now=True)

    @precondition(lambda self: self.status)
    @rule(data=st.data(), settle_now=st.booleans())
    def start_payment(self, data: st.DataObject, settle_now: bool) -> None:
        self._pay(self._deal(data, S.PENDING), settle_now)

    def _pay(self, deal: Deal, settle_now: bool) -> None:
        buyer, key = self._user(deal.buyer_id), f"p{next(self.keys)}"
        payment = self.expect(
            self.status[deal.id] is S.PENDING and deal.id not in self.open_payments,
            lambda: payments.request_payment(self.ctx, buyer, deal.id, PHONE, key, key))
        if payment is None:
            return
        pushed = payments.send_stk_push(self.ctx, ScriptedGateway(), payment.id)
        assert pushed is not None
        self.open_payments[deal.id] = pushed
        if settle_now:
            self._payment_result(deal.id, paid=True)

    @precondition(lambda self: self.open_payments)
    @rule(data=st.data(), paid=st.booleans())
    def payment_result(self, data: st.DataObject, paid: bool) -> None:
        self._payment_result(data.draw(st.sampled_from(sorted(self.open_payments))), paid)

    def _payment_result(self, deal_id: str, paid: bool) -> None:
        payment = self.open_payments.pop(deal_id)
        result = self.world.success(payment) if paid else self.world.failure(payment)
        outcome = self.world.settle(result).outcome  # genuine: STK Query agrees
        assert outcome is (PaymentOutcome.CREDITED if paid else PaymentOutcome.FAILED)
        self.callbacks.append(("stk", result))
        if paid:
            self.status[payment.deal_id] = S.ACTIVE
            self.funded += payment.amount

    @precondition(lambda self: self.status)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        deal = self._deal(data, S.ACTIVE)
        seller = self._user(deal.seller_id)
        allowed = self.status[deal.id] is S.ACTIVE and deal.id not in self.inspection_ends
        after = self.expect(allowed, lambda: lifecycle.deliver(self.ctx, seller, deal.id))
        if after is not None:
            assert after.inspection_ends_at is not None
            self.inspection_ends[deal.id] = after.inspection_ends_at

    @precondition(lambda self: self.status)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        deal = self._deal(data, S.ACTIVE)
        buyer = self._user(deal.buyer_id)
        if self.expect(self.status[deal.id] is S.ACTIVE,
                       lambda: lifecycle.release(self.ctx, buyer, deal.id)):
            self._settled(deal, deal.amount, S.COMPLETED)

    @precondition(lambda self: any(self.status[d] is S.ACTIVE for d in self.inspection_ends))
    @rule(data=st.data(), hours=st.integers(0, 24 * 35))
    def auto_release(self, data: st.DataObject, hours: int) -> None:
        """At a random later instant, or exactly when some inspection period ends."""
        clock = self.world.fakes.clock
        ends = sorted(e for d, e in self.inspection_ends.items() if self.status[d] is S.ACTIVE)
        clock.advance(hours=hours)
        if ends and data.draw(st.booleans()):
            clock.set(max(clock.now() - timedelta(hours=hours), data.draw(st.sampled_from(ends))))
        now = clock.now()
        due = sorted(d for d, ends in self.inspection_ends.items()
                     if self.status[d] is S.ACTIVE and ends <= now)
        assert sorted(lifecycle.auto_release_due(self.ctx, now)) == due
        assert lifecycle.auto_release_due(self.ctx, now) == []  # the second run finds nothing
        for deal_id in due:
            deal = self.world.deal(deal_id)
            self._settled(deal, deal.amount, S.COMPLETED)

    @precondition(lambda self: self.status)
    @rule(data=st.data(), by_buyer=st.booleans())
    def dispute(self, data: st.DataObject, by_buyer: bool) -> None:
        deal = self._deal(data, S.ACTIVE)
        party = self._user(deal.buyer_id if by_buyer else deal.seller_id)
        if self.expect(self.status[deal.id] is S.ACTIVE, lambda: lifecycle.open_dispute(
                self.ctx, party, deal.id, "not as described")):
            self.status[deal.id] = S.DISPUTED

    @precondition(lambda self: self.status)
    @rule(data=st.data(), outcome=st.sampled_from(["release", "refund", "split"]))
    def resolve(self, data: st.DataObject, outcome: str) -> None:
        deal = self._deal(data, S.DISPUTED)
        share = {"release": deal.amount, "refund": 0}.get(outcome)
        if outcome == "split" and deal.amount < 2:  # no split leaves each side a shilling
            self.expect(False, lambda: lifecycle.resolve_dispute(
                self.ctx, self.admin, deal.id, outcome, 1, None), InvalidInput)
            return
        if share is None:
            share = data.draw(st.integers(1, deal.amount - 1))
        asked = share if outcome == "split" else None
        after = self.expect(self.status[deal.id] is S.DISPUTED, lambda: lifecycle.resolve_dispute(
            self.ctx, self.admin, deal.id, outcome, asked, None))
        if after is not None:
            self._settled(deal, share, after.status)
            assert after.status is (S.CANCELLED if outcome == "refund" else S.COMPLETED)

    @precondition(lambda self: S.PENDING in self.status.values())
    @rule(hours=st.integers(0, 24 * 10))
    def expire(self, hours: int) -> None:
        self.world.fakes.clock.advance(hours=hours)
        now = self.world.fakes.clock.now()
        due = sorted(d for d, s in self.status.items() if s is S.PENDING
                     and d not in self.open_payments
                     and (when := self.world.deal(d).due_date) is not None and when <= now)
        assert sorted(lifecycle.expire_unfunded(self.ctx, now)) == due
        self.status.update(dict.fromkeys(due, S.CANCELLED))

    @precondition(lambda self: any(v >= 10 for v in self.wallets.values()))
    @rule(data=st.data(), too_much=st.booleans())
    def withdraw(self, data: st.DataObject, too_much: bool) -> None:
        people = self.buyers + self.sellers
        rich = [u for u in people if self.wallets[u.id] >= 10]
        user = data.draw(st.sampled_from(rich if rich and not too_much else people))
        balance, key = self.wallets[user.id], f"w{next(self.keys)}"
        top = min(balance + 500, 250_000) if too_much or balance < 10 else min(balance, 250_000)
        amount = data.draw(st.integers(10, top))
        before = dict(self.world.fakes.payouts.rows)
        payout = self.expect(amount <= balance, lambda: wallet.request_withdrawal(
            self.ctx, user, amount, PHONE, key, key))
        if payout is None:
            assert self.world.fakes.payouts.rows == before  # a refusal leaves nothing behind
            return
        self.payouts[payout.id] = PayoutStatus.QUEUED
        self.wallets[user.id] -= amount

    @precondition(lambda self: PayoutStatus.QUEUED in self.payouts.values())
    @rule(data=st.data(), answer=st.sampled_from(["accepted", "rejected", "unknown"]),
          then=st.sampled_from([None, "paid", "failed"]))
    def send_b2c(self, data: st.DataObject, answer: str, then: str | None) -> None:
        payout_id = self._in(PayoutStatus.QUEUED, data)
        reply = {"accepted": f"AG_{payout_id}", "rejected": GatewayRejected("2001", "no"),
                 "unknown": GatewayOutcomeUnknown("read timeout")}[answer]
        payouts.send_b2c(self.ctx, FakeB2c(reply), payout_id)
        if answer == "rejected":
            self._payout_failed(payout_id)
            return
        self.payouts[payout_id] = PayoutStatus.PENDING
        if then is not None:  # M-Pesa often answers at once: keep results common
            self._b2c_result(payout_id, then == "paid")

    @precondition(lambda self: PayoutStatus.PENDING in self.payouts.values())
    @rule(data=st.data(), paid=st.booleans())
    def b2c_result(self, data: st.DataObject, paid: bool) -> None:
        self._b2c_result(self._in(PayoutStatus.PENDING, data), paid)

    def _b2c_result(self, payout_id: str, paid: bool) -> None:
        """The B2C result only makes us ask; our status query's answer settles the payout."""
        payout = self.world.payout(payout_id)
        report = b2c_result(payout, "0" if paid else "2001")
        fakes = self.world.fakes
        before = (dict(fakes.ledger.postings), dict(fakes.payouts.rows))
        assert payouts.apply_b2c_result(self.ctx, report) is PayoutOutcome.VERIFYING
        assert (dict(fakes.ledger.postings), dict(fakes.payouts.rows)) == before
        self.callbacks.append(("b2c", report))
        self._status_result(payout_id, "Completed" if paid else "Declined")

    @precondition(lambda self: PayoutStatus.PENDING in self.payouts.values())
    @rule(data=st.data(), verdict=st.sampled_from(["Completed", "Declined", "2032"]))
    def status_result(self, data: st.DataObject, verdict: str) -> None:
        self._status_result(self._in(PayoutStatus.PENDING, data), verdict)

    def _status_result(self, payout_id: str, verdict: str) -> None:
        payout = self.world.payout(payout_id)
        query_id = self.world.ask_status(payout)
        code, state = ("2032", None) if verdict == "2032" else ("0", verdict)
        report = status_result(query_id, code, state, original=payout.originator_conversation_id)
        outcome = payouts.apply_status_result(self.ctx, report)
        self.callbacks.append(("status", report))
        if verdict == "Completed":
            assert outcome is PayoutOutcome.PAID
            self._payout_paid(payout_id)
        elif verdict == "Declined":
            assert outcome is PayoutOutcome.RETURNED
            self._payout_failed(payout_id)
        else:
            assert outcome is PayoutOutcome.NOT_KNOWN_YET

    @precondition(lambda self: self.callbacks)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        kind, report = data.draw(st.sampled_from(self.callbacks))
        fakes = self.world.fakes
        before = (dict(fakes.ledger.postings), dict(fakes.deals.rows), dict(fakes.payouts.rows))
        if kind == "stk":
            assert isinstance(report, StkResult)
            self.world.settle(report)
        else:
            assert isinstance(report, ResultReport)
            apply = payouts.apply_b2c_result if kind == "b2c" else payouts.apply_status_result
            apply(self.ctx, report)
        assert (dict(fakes.ledger.postings), dict(fakes.deals.rows),
                dict(fakes.payouts.rows)) == before


def test_any_sequence_of_operations_keeps_the_books_exact_and_refuses_as_predicted() -> None:
    run_state_machine_as_test(EscrowMachine, settings=settings(
        max_examples=120, stateful_step_count=50, deadline=None, database=None))
