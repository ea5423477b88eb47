"""A small marketplace built on the fakes: a buyer, a seller, and shortcuts to common steps."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from domain.deals import Deal
from domain.mpesa import StkResult
from domain.payments import Payment
from domain.ports import StkAccepted
from domain.services import accounts, deals, payments
from domain.services.context import Context
from domain.services.deals import DealTerms
from domain.users import User
from tests.unit.fakes import Fakes, ScriptedGateway

PASSWORD = "a long password"
PHONE = "254708374149"
RECEIPT = "SG632NMUAB"


@dataclass
class World:
    fakes: Fakes
    buyer: User
    seller: User

    @classmethod
    def build(cls) -> World:
        fakes = Fakes()
        buyer = accounts.register(fakes.ctx, "Buyer@Example.com", PASSWORD, "Amina", "B", "buyer")
        seller = accounts.register(fakes.ctx, "seller@example.com", PASSWORD, "Otieno", "S",
                                   "seller")
        return cls(fakes, buyer, seller)

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
