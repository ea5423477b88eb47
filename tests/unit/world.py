"""A small marketplace built on the fakes: a buyer, a seller, and shortcuts to common steps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain import ledger
from domain.deals import Deal
from domain.mpesa import ResultReport, StkResult, parse_result
from domain.payments import Payment
from domain.payouts import Payout
from domain.ports import StkAccepted
from domain.services import accounts, deals, lifecycle, payments, payouts, wallet
from domain.services.context import Context
from domain.services.deals import DealTerms
from domain.services.payouts import PayoutOutcome
from domain.users import User
from tests.unit.fakes import FakeB2c, Fakes, ScriptedGateway

PASSWORD = "a long password"
PHONE = "254708374149"
RECEIPT = "SG632NMUAB"


@dataclass
class World:
    fakes: Fakes
    buyer: User
    seller: User
    mpesa: ScriptedGateway = dataclasses.field(default_factory=ScriptedGateway)
    b2c: FakeB2c = dataclasses.field(default_factory=FakeB2c)  # answers our status queries

    @classmethod
    def build(cls) -> World:
        fakes = Fakes()
        buyer = accounts.register(fakes.ctx, "Buyer@Example.com", PASSWORD, "Amina", "B", "buyer")
        seller = accounts.register(fakes.ctx, "seller@example.com", PASSWORD, "Otieno", "S",
                                   "seller")
        return cls(fakes, buyer, seller)

    def settle(self, result: StkResult) -> payments.Settled:
        """A genuine callback: M-Pesa's own record (STK Query) agrees with it."""
        self.mpesa.knows(result.checkout_request_id, result.result_code, result.result_desc)
        return payments.settle_stk_result(self.ctx, self.mpesa, result)

    def forge(self, result: StkResult) -> payments.Settled:
        """A callback M-Pesa never sent: its STK Query knows nothing of this claim."""
        return payments.settle_stk_result(self.ctx, self.mpesa, result)

    @property
    def ctx(self) -> Context:
        return self.fakes.ctx

    def register(self, email: str, role: str = "buyer") -> User:
        return accounts.register(self.ctx, email, PASSWORD, "Some", "One", role)

    def terms(self, **changes: object) -> DealTerms:
        base = DealTerms("Phone", "A used phone", 1500, seller_email=self.seller.email)
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    def open_deal(self, amount: int = 1500) -> Deal:
        return deals.open_deal(self.ctx, self.buyer.id, self.terms(amount=amount))

    def request(self, deal: Deal, key: str = "k1", request_hash: str = "h1") -> Payment:
        return payments.request_payment(self.ctx, self.buyer, deal.id, PHONE, key, request_hash)

    def push(self, payment: Payment, *answers: StkAccepted | Exception) -> Payment:
        pushed = payments.send_stk_push(self.ctx, ScriptedGateway(*answers), payment.id)
        assert pushed is not None
        return pushed

    def pending_payment(self, amount: int = 1500, key: str = "k1") -> tuple[Deal, Payment]:
        deal = self.open_deal(amount)
        payment = self.push(self.request(deal, key, f"hash-{key}"))
        return deal, payment

    def success(self, payment: Payment, **changes: object) -> StkResult:
        assert payment.checkout_request_id is not None
        result = StkResult(payment.checkout_request_id, payment.merchant_request_id, "0",
                           "The service request is processed successfully.",
                           Decimal(f"{payment.amount}.00"), RECEIPT, PHONE, "20261124103000")
        return dataclasses.replace(result, **changes)  # type: ignore[arg-type]

    def funded(self, amount: int = 1500, **terms: object) -> Deal:
        """An ``active`` deal: opened, paid by STK, and the success settled."""
        deal = deals.open_deal(self.ctx, self.buyer.id, self.terms(amount=amount, **terms))
        key = f"fund-{self.fakes.ids.count}"
        payment = self.push(self.request(deal, key, f"hash-{key}"))
        self.settle(self.success(payment))
        return self.deal(deal.id)

    def admin(self) -> User:
        found = self.fakes.users.by_email("ops@example.com")
        return found or accounts.create_admin(self.ctx, "ops@example.com", PASSWORD)

    def seller_wallet(self, amount: int) -> int:
        """Put ``amount`` into the seller's wallet the real way (fund and release, no fee)."""
        lifecycle.release(self.ctx, self.buyer, self.funded(amount).id)
        return self.balance(ledger.wallet(self.seller.id))

    def balance(self, account: str) -> int:
        return self.fakes.ledger.balance(account)

    def withdraw(self, amount: int, key: str = "w1", request_hash: str = "wh1") -> Payout:
        return wallet.request_withdrawal(self.ctx, self.seller, amount, PHONE, key, request_hash)

    def pending_payout(self, amount: int = 1000) -> Payout:
        """A withdrawal from a seller's wallet of 1500 whose B2C was sent: waiting for M-Pesa."""
        self.seller_wallet(1500)
        sent = payouts.send_b2c(self.ctx, self.b2c, self.withdraw(amount).id)
        assert sent is not None and sent.status.value == "pending"
        return sent

    def ask_status(self, payout: Payout) -> str:
        """Send our Transaction Status query about a pending payout; returns the id Daraja gave
        the query, the only id its answer is matched by."""
        before = set(self.fakes.payouts.status_queries)
        payouts.check_status(self.ctx, self.b2c, payout.id)
        [query_id] = set(self.fakes.payouts.status_queries) - before
        return query_id

    def confirm_payout(self, payout: Payout, state: str | None = "Completed",
                       code: str = "0") -> PayoutOutcome:
        """M-Pesa's answer to our own status query: the one word that settles a payout."""
        query_id = self.ask_status(payout)
        report = status_result(query_id, code, state, original=payout.originator_conversation_id)
        return payouts.apply_status_result(self.ctx, report)

    def payout(self, payout_id: str) -> Payout:
        found = self.fakes.payouts.get(payout_id)
        assert found is not None
        return found

    def failure(self, payment: Payment, code: str = "1032") -> StkResult:
        assert payment.checkout_request_id is not None
        return StkResult(payment.checkout_request_id, payment.merchant_request_id, code,
                         "Request cancelled by user")

    def deal(self, deal_id: str) -> Deal:
        found = self.fakes.deals.get(deal_id)
        assert found is not None
        return found

    def payment(self, payment_id: str) -> Payment:
        found = self.fakes.payments.get(payment_id)
        assert found is not None
        return found


def b2c_result(payout: Payout, code: str = "0", amount: object = None,
               receipt: str = "TK41XXJ8PB") -> ResultReport:
    """A B2C Result body as Daraja posts it, parsed."""
    params: list[dict[str, Any]] = [
        {"Key": "TransactionAmount", "Value": payout.amount if amount is None else amount},
        {"Key": "TransactionReceipt", "Value": receipt},
        {"Key": "ReceiverPartyPublicName", "Value": f"{payout.phone} - Some One"}]
    result: dict[str, Any] = {
        "ResultType": 0, "ResultCode": int(code) if code.isdigit() else code,
        "ResultDesc": "ok" if code == "0" else "The balance is insufficient",
        "OriginatorConversationID": payout.originator_conversation_id,
        "ConversationID": f"AG_{payout.id}", "TransactionID": receipt}
    if code == "0":
        result["ResultParameters"] = {"ResultParameter": params}
    return parse_result({"Result": result})


def status_result(originator: str, code: str = "0", state: str | None = "Completed",
                  original: str | None = None, receipt: str = "TK41STATUS") -> ResultReport:
    """A Transaction Status Result body, parsed; ``originator`` is the query's own id."""
    params: list[dict[str, Any]] = [{"Key": "ReceiptNo", "Value": receipt}]
    if state is not None:
        params.append({"Key": "TransactionStatus", "Value": state})
    if original is not None:
        params.append({"Key": "OriginatorConversationID", "Value": original})
    return parse_result({"Result": {
        "ResultType": 0, "ResultCode": code, "ResultDesc": f"status {code}",
        "OriginatorConversationID": originator, "ConversationID": "AG_status",
        "TransactionID": "OEI2AK4Q16", "ResultParameters": {"ResultParameter": params}}})
