"""Every money movement the sandbox decided, for Transaction Status and Reversal to look up."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

TransactionKind = Literal["stk", "b2c", "reversal"]

_CUSTOMER_NAMES = (
    "JOHN DOE",
    "JANE WANJIKU",
    "BRIAN OTIENO",
    "GRACE AKINYI",
    "PETER KAMAU",
    "AMINA HASSAN",
    "DAVID KIPROTICH",
    "MERCY MUTHONI",
)


def customer_name(msisdn: str) -> str:
    """``"<MSISDN> - <NAME>"``, the same made-up name every time for the same number."""
    return f"{msisdn} - {_CUSTOMER_NAMES[int(msisdn) % len(_CUSTOMER_NAMES)]}"


def organisation_name(shortcode: str) -> str:
    """``"<shortcode> - <NAME>"`` in the style of Daraja's test organisations."""
    return f"{shortcode} - Safaricom Daraja {shortcode[-3:]}"


@dataclass(frozen=True)
class TransactionRecord:
    """The final truth about one transaction, decided when it was accepted."""

    kind: TransactionKind
    transaction_id: str
    """The receipt on success; a receipt-like id on failure."""
    originator_conversation_id: str
    conversation_id: str
    result_code: int | str
    result_desc: str
    amount: int
    debit_party: str
    credit_party: str
    initiated_on: datetime
    finalised_on: datetime
    reason_type: str
    """Transaction Status's ReasonType, e.g. "Business Payment to Customer via API"."""
    debit_account_type: str
    debit_party_charges: str

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


class Ledger:
    """Records findable by TransactionID and (B2C, reversal) by OriginatorConversationID."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_transaction_id: dict[str, TransactionRecord] = {}
        self._by_originator_id: dict[str, TransactionRecord] = {}

    def add(self, record: TransactionRecord) -> None:
        with self._lock:
            self._by_transaction_id[record.transaction_id] = record
            if record.kind != "stk":  # an STK push has no OriginatorConversationID
                self._by_originator_id[record.originator_conversation_id] = record

    def find(
        self, transaction_id: str | None, originator_conversation_id: str | None = None
    ) -> TransactionRecord | None:
        """By TransactionID first, then by OriginatorConversationID."""
        with self._lock:
            found = self._by_transaction_id.get(transaction_id or "")
            if found is None:
                found = self._by_originator_id.get(originator_conversation_id or "")
            return found

    def reset(self) -> None:
        with self._lock:
            self._by_transaction_id.clear()
            self._by_originator_id.clear()
