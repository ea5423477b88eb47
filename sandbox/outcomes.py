"""What the simulated customer does, chosen by the phone number that gets the prompt."""

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
