"""Domain errors. The API maps each kind to one status code, once, in api/errors.py."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation the domain reports."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    """A value broke a business rule (422); ``field`` names it."""

    code = "VALIDATION_ERROR"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, {field: [message]})
        self.field = field


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"


class Conflict(DomainError):
    """The current state does not allow the action (409)."""

    code = "CONFLICT"


class IllegalTransitionError(Conflict):
    """A trigger that the state machine does not allow in the current state."""

    def __init__(self, machine: str, state: str, trigger: str) -> None:
        super().__init__(
            f"cannot {trigger} a {machine} that is {state}",
            {"state": state, "trigger": trigger},
        )
        self.state = state
        self.trigger = trigger


class ConcurrencyError(Conflict):
    """Somebody else changed the record between our read and our write."""


class IdempotencyMismatch(DomainError):
    """The same Idempotency-Key was used with a different request (422)."""

    code = "IDEMPOTENCY_MISMATCH"
