"""B2C payments: duplicate ids, the flaky test phone, outcomes and the paying org's balances."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sandbox.business_requests import PayoutRequest
from sandbox.errors import duplicate_originator_conversation_id, system_internal_error
from sandbox.ids import ReceiptBook, conversation_id, now_eat, originator_conversation_id
from sandbox.ledger import Ledger, TransactionRecord, customer_name, organisation_name
from sandbox.outcomes import (
    ABOVE_MAXIMUM,
    BELOW_MINIMUM,
    INITIATOR_INVALID,
    SYSTEM_ERROR_PHONE,
    PayoutOutcome,
    payout_outcome_for,
)

MIN_PAYOUT = 10
MAX_PAYOUT = 250_000
B2C_CHARGE = Decimal("22.40")
"""A flat charge per payout: a sandbox convention, not Safaricom's tariff."""

_REASON_BY_COMMAND = {
    "BusinessPayment": "Business Payment to Customer via API",
    "SalaryPayment": "Salary Payment to Customer via API",
    "PromotionPayment": "Promotion Payment to Customer via API",
}


@dataclass(frozen=True)
class Balances:
    """The paying organisation's accounts, as B2C results report them."""

    utility: Decimal
    working: Decimal
    charges_paid: Decimal

    def after_payout(self, amount: int) -> Balances:
        """Debit the utility account (refilled to its opening figure if it would go below zero)."""
        utility = self.utility if self.utility >= amount else OPENING_BALANCES.utility
        return Balances(utility - amount, self.working, self.charges_paid - B2C_CHARGE)


OPENING_BALANCES = Balances(Decimal("8959269.60"), Decimal("1199371.45"), Decimal("-1980.35"))


@dataclass(frozen=True)
class Payout:
    """An accepted B2C payment and everything its result (or queue timeout) will say."""

    request: PayoutRequest
    record: TransactionRecord
    outcome: PayoutOutcome
    balances: Balances
    """After this payout."""
    sequence: int
    """0 for the first payout of this sandbox, then 1, 2, ...: varies the parameter order."""


class PayoutDesk:
    """Accepts B2C payments under one lock and records each in the ledger."""

    def __init__(self, result_delay_s: float, receipts: ReceiptBook, ledger: Ledger) -> None:
        self._result_delay = timedelta(seconds=result_delay_s)
        self._receipts = receipts
        self._ledger = ledger
        self._lock = threading.Lock()
        self._used_originator_ids: set[str] = set()
        self._flaky_attempts = 0
        self._balances = OPENING_BALANCES
        self._sequence = 0

    def accept(self, request: PayoutRequest) -> Payout:
        """Raise a duplicate or the flaky phone's system error, creating nothing; else accept."""
        with self._lock:
            originator_id = request.originator_conversation_id
            if originator_id in self._used_originator_ids:
                raise duplicate_originator_conversation_id()
            self._check_flaky_phone(request.party_b)
            while originator_id is None or originator_id in self._used_originator_ids:
                originator_id = originator_conversation_id()
            outcome = _outcome(request)
            if outcome.succeeded:
                self._balances = self._balances.after_payout(request.amount)
            record = self._record(request, originator_id, outcome)
            self._ledger.add(record)
            self._used_originator_ids.add(originator_id)
            payout = Payout(request, record, outcome, self._balances, self._sequence)
            self._sequence += 1
        return payout

    def reset(self) -> None:
        with self._lock:
            self._used_originator_ids.clear()
            self._flaky_attempts = 0
            self._balances = OPENING_BALANCES
            self._sequence = 0

    def _check_flaky_phone(self, party_b: str) -> None:
        """Odd-numbered attempts (1st, 3rd, ...) to the test phone fail with a system error."""
        if party_b != SYSTEM_ERROR_PHONE:
            return
        self._flaky_attempts += 1
        if self._flaky_attempts % 2 == 1:
            raise system_internal_error()

    def _record(
        self, request: PayoutRequest, originator_id: str, outcome: PayoutOutcome
    ) -> TransactionRecord:
        accepted_on = now_eat()
        completed_on = accepted_on + self._result_delay
        return TransactionRecord(
            kind="b2c",
            transaction_id=self._receipts.issue(completed_on.date()),
            originator_conversation_id=originator_id,
            conversation_id=conversation_id(accepted_on),
            result_code=outcome.result_code,
            result_desc=outcome.result_desc,
            amount=request.amount,
            debit_party=organisation_name(request.party_a),
            credit_party=customer_name(request.party_b),
            initiated_on=accepted_on,
            finalised_on=completed_on,
            reason_type=_REASON_BY_COMMAND[request.command_id],
            debit_account_type="Utility Account",
            debit_party_charges=f"Fee For B2C Payment|KES|{B2C_CHARGE}",
        )


def _outcome(request: PayoutRequest) -> PayoutOutcome:
    """The initiator check first, then the amount limits, then the test phone's outcome."""
    if not request.initiator_valid:
        return INITIATOR_INVALID
    if request.amount < MIN_PAYOUT:
        return BELOW_MINIMUM
    if request.amount > MAX_PAYOUT:
        return ABOVE_MAXIMUM
    return payout_outcome_for(request.party_b)
