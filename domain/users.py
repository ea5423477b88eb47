"""People who use the marketplace, and who may do what."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import InvalidInput

MIN_PASSWORD = 10
MAX_PASSWORD = 256
MAX_NAME = 100


class Role(StrEnum):
    BUYER = "buyer"
    SELLER = "seller"
    ADMIN = "admin"


SELF_SERVICE_ROLES = (Role.BUYER, Role.SELLER)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    first_name: str
    last_name: str
    role: Role
    created_at: datetime
    updated_at: datetime
    phone: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def with_profile(self, now: datetime, **changes: object) -> User:
        return dataclasses.replace(self, updated_at=now, **changes)  # type: ignore[arg-type]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def check_name(field: str, value: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_NAME:
        raise InvalidInput(field, f"must be 1 to {MAX_NAME} characters")
    return value


def needs_proof_for_phone(user: User, phone: str | None) -> bool:
    """Money may go, and the profile phone may change, to a phone other than the profile's
    only with a fresh proof of identity (a fresh sign-in or the password)."""
    return phone != user.phone


def check_self_service_role(role: str) -> Role:
    if role not in {r.value for r in SELF_SERVICE_ROLES}:
        raise InvalidInput("role", "must be buyer or seller")
    return Role(role)
