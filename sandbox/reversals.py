"""Reversals of STK payments: each receipt once, for its exact amount (daraja.md section 8)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sandbox.business_requests import ReversalRequest
from sandbox.ids import ReceiptBook, conversation_id, now_eat, originator_conversation_id
from sandbox.ledger import Ledger, TransactionRecord, organisation_name
from sandbox.outcomes import INITIATOR_INVALID, SUCCESS

ALREADY_REVERSED = ("R000001", "The transaction has already been reversed")
INVALID_ORIGINAL = ("R000002", "The OriginalTransactionID is invalid")
OPENING_UTILITY_BALANCE = Decimal("7722179.62")
"""The STK shortcode's utility account before any reversal (a sandbox figure)."""


@dataclass(frozen=True)
class Reversal:
    request: ReversalRequest
    record: TransactionRecord
    original: TransactionRecord | None
    """The STK payment reversed (None unless the reversal succeeded)."""
    utility_balance: Decimal
    """The shortcode's utility account after this reversal."""


class ReversalDesk:
    def __init__(self, result_delay_s: float, receipts: ReceiptBook, ledger: Ledger) -> None:
        self._result_delay = timedelta(seconds=result_delay_s)
        self._receipts = receipts
        self._ledger = ledger
        self._lock = threading.Lock()
        self._reversed: set[str] = set()
        self._utility_balance = OPENING_UTILITY_BALANCE

    def accept(self, request: ReversalRequest) -> Reversal:
        """Decide the outcome now (the result is only sent later) and record it."""
        original = self._ledger.find(request.transaction_id)
        with self._lock:
            result_code, result_desc = self._decide(request, original)
            if result_code == 0 and original is not None:
                self._reversed.add(original.transaction_id)
                if self._utility_balance < request.amount:
                    self._utility_balance = OPENING_UTILITY_BALANCE
                self._utility_balance -= request.amount
            else:
                original = None
            record = self._record(request, original, result_code, result_desc)
            self._ledger.add(record)
            return Reversal(request, record, original, self._utility_balance)

    def reset(self) -> None:
        with self._lock:
            self._reversed.clear()
            self._utility_balance = OPENING_UTILITY_BALANCE

    def _decide(
        self, request: ReversalRequest, original: TransactionRecord | None
    ) -> tuple[int | str, str]:
        if not request.initiator_valid:
            return INITIATOR_INVALID.result_code, INITIATOR_INVALID.result_desc
        if original is None or original.kind != "stk" or not original.succeeded:
            return INVALID_ORIGINAL
        if original.transaction_id in self._reversed:
            return ALREADY_REVERSED
        if request.amount != original.amount:
            return INVALID_ORIGINAL
        return SUCCESS.result_code, SUCCESS.result_desc

    def _record(
        self,
        request: ReversalRequest,
        original: TransactionRecord | None,
        result_code: int | str,
        result_desc: str,
    ) -> TransactionRecord:
        accepted_on = now_eat()
        completed_on = accepted_on + self._result_delay
        return TransactionRecord(
            kind="reversal",
            transaction_id=self._receipts.issue(completed_on.date()),
            originator_conversation_id=originator_conversation_id(),
            conversation_id=conversation_id(accepted_on),
            result_code=result_code,
            result_desc=result_desc,
            amount=request.amount,
            debit_party=organisation_name(request.receiver_party),
            credit_party=original.debit_party if original is not None else "",
            initiated_on=accepted_on,
            finalised_on=completed_on,
            reason_type="Transaction Reversal",
            debit_account_type="Utility Account",
            debit_party_charges="",
        )
