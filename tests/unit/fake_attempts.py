"""A hand-written fake of the LoginAttempts port: counts in a dict, locks at a threshold."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeAttempts:
    threshold: int = 10
    failures: dict[str, int] = field(default_factory=dict)

    def locked(self, email: str) -> bool:
        return self.failures.get(email, 0) >= self.threshold

    def failed(self, email: str) -> None:
        self.failures[email] = self.failures.get(email, 0) + 1

    def succeeded(self, email: str) -> None:
        self.failures.pop(email, None)
