"""What the simulated customer (STK) or payout (B2C) does, chosen by the phone number."""

from __future__ import annotations

from dataclasses import dataclass

SPIKE_ARREST_PHONE = "254700000007"


@dataclass(frozen=True)
class Outcome:
    """The customer's answer to a prompt and how many times its callback is delivered."""

    result_code: int
    result_desc: str
    deliveries: int = 1

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


SUCCESS = Outcome(0, "The service request is processed successfully.")

_OUTCOME_BY_PHONE: dict[str, Outcome] = {
    "254700000001": Outcome(1032, "Request cancelled by user"),
    "254700000002": Outcome(1, "The balance is insufficient for the transaction."),
    "254700000003": Outcome(1037, "DS timeout user cannot be reached"),
    "254700000004": Outcome(2001, "The initiator information is invalid."),
    "254700000005": Outcome(SUCCESS.result_code, SUCCESS.result_desc, deliveries=0),
    "254700000006": Outcome(SUCCESS.result_code, SUCCESS.result_desc, deliveries=3),
}


def outcome_for(phone: str) -> Outcome:
    """The outcome for ``phone``; every number not in the table pays successfully."""
    return _OUTCOME_BY_PHONE.get(phone, SUCCESS)


SYSTEM_ERROR_PHONE = "254700000007"
"""B2C to this PartyB: odd-numbered attempts fail with HTTP 500 ``System internal error.``."""


@dataclass(frozen=True)
class PayoutOutcome:
    """How a B2C payment ends and which notifications its caller gets."""

    result_code: int
    result_desc: str
    results_sent: int = 1
    """Deliveries of the result to ResultURL (0: lost; 2: duplicated)."""
    queue_timeout: bool = False
    """Notify QueueTimeOutURL instead; the money moves all the same when the code is 0."""

    @property
    def succeeded(self) -> bool:
        return self.result_code == 0


PAYOUT_SUCCESS = PayoutOutcome(0, SUCCESS.result_desc)
INITIATOR_INVALID = PayoutOutcome(2001, "The initiator information is invalid.")
BELOW_MINIMUM = PayoutOutcome(
    2, "Declined due to limit rule: less than the minimum transaction amount."
)
ABOVE_MAXIMUM = PayoutOutcome(
    3, "Declined due to limit rule: greater than the maximum transaction amount."
)

_PAYOUT_OUTCOME_BY_PHONE: dict[str, PayoutOutcome] = {
    "254700000001": INITIATOR_INVALID,
    "254700000002": PayoutOutcome(1, "The balance is insufficient for the transaction."),
    "254700000003": PayoutOutcome(0, SUCCESS.result_desc, results_sent=0, queue_timeout=True),
    "254700000005": PayoutOutcome(0, SUCCESS.result_desc, results_sent=0),
    "254700000006": PayoutOutcome(0, SUCCESS.result_desc, results_sent=2),
}


def payout_outcome_for(party_b: str) -> PayoutOutcome:
    """The outcome for a B2C to ``party_b``; every number not in the table is paid."""
    return _PAYOUT_OUTCOME_BY_PHONE.get(party_b, PAYOUT_SUCCESS)
