"""A hand-written fake of the LoginAttempts port: counts attempts in a dict (a success clears
them), refuses at a threshold."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeAttempts:
    threshold: int = 10
    failures: dict[str, int] = field(default_factory=dict)

    def begin(self, email: str) -> bool:
        if self.failures.get(email, 0) >= self.threshold:
            return False
        self.failures[email] = self.failures.get(email, 0) + 1
        return True

    def succeeded(self, email: str) -> None:
        self.failures.pop(email, None)
