"""Registering, signing in (with the lockout), proving who one is, changing one's password and
profile."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from domain.errors import ConcurrencyError, Conflict, NotFound, Unauthorized
from domain.ports import LoginAttempts
from domain.services.context import Context
from domain.users import (
    Role,
    User,
    check_name,
    check_password,
    check_self_service_role,
    needs_proof_for_phone,
    normalise_email,
)

BAD_CREDENTIALS = "invalid email or password"
PROOF_NEEDED = "this needs a fresh sign-in or your password (the password field)"
WRONG_CURRENT = "the current password is wrong"
# Registration must answer a taken email otherwise than a new one (a new one gets tokens at
# once, and the product sends no email), so API.md's 409 stays; it says no more than needed.
EMAIL_UNAVAILABLE = "this email cannot be used to register: sign in, or use another address"


@dataclass(frozen=True)
class Proof:
    """What a request offers as proof of identity: a fresh token, or the password."""

    fresh: bool
    password: str | None = None


def register(
    ctx: Context, email: str, password: str, first_name: str, last_name: str, role: str,
    phone: str | None = None,
) -> User:
    role_ = check_self_service_role(role)
    try:
        return _create(ctx, email, password, first_name, last_name, role_, phone)
    except Conflict:
        raise Conflict(EMAIL_UNAVAILABLE) from None


def create_admin(ctx: Context, email: str, password: str) -> User:
    """Admins are made by operators (a CLI), never by self-registration."""
    return _create(ctx, email, password, "Admin", "User", Role.ADMIN, None)


def _create(
    ctx: Context, email: str, password: str, first_name: str, last_name: str, role: Role,
    phone: str | None,
) -> User:
    now = ctx.clock.now()
    user = User(
        id=ctx.ids.new_id(),
        email=normalise_email(email),
        password_hash=ctx.hasher.hash(check_password(password)),
        first_name=check_name("firstName", first_name),
        last_name=check_name("lastName", last_name),
        role=role,
        phone=phone,
        created_at=now,
        updated_at=now,
    )
    ctx.users.add(user)
    return user


def authenticate(ctx: Context, email: str, password: str, attempts: LoginAttempts) -> User:
    """The same answer, in about the same time, for an unknown email, a wrong password and a
    locked account (even with the right password: the lock reveals nothing)."""
    email = normalise_email(email)
    if not attempts.begin(email):  # locked
        ctx.hasher.verify_dummy(password)
        raise Unauthorized(BAD_CREDENTIALS)
    user = ctx.users.by_email(email)
    if user is None:
        ctx.hasher.verify_dummy(password)
    if user is None or not ctx.hasher.verify(user.password_hash, password):
        raise Unauthorized(BAD_CREDENTIALS)  # the attempt stays counted
    attempts.succeeded(email)
    if ctx.hasher.needs_rehash(user.password_hash):  # older parameters: upgrade it now
        upgraded = dataclasses.replace(user, password_hash=ctx.hasher.hash(password))
        if ctx.users.update(user, upgraded):  # not over a password changed meanwhile
            user = upgraded
    return user


def _confirm_password(ctx: Context, user: User, password: str, attempts: LoginAttempts,
                      message: str, field: str) -> None:
    """A signed-in person's password, counted against the same lockout as sign-in."""
    if not attempts.begin(user.email):  # locked
        ctx.hasher.verify_dummy(password)
        raise Unauthorized(message, {field: [message]})
    if not ctx.hasher.verify(user.password_hash, password):
        raise Unauthorized(message, {field: [message]})  # the attempt stays counted
    attempts.succeeded(user.email)


def change_password(ctx: Context, user_id: str, current: str, new: str,
                    attempts: LoginAttempts, end_sessions: Callable[[str], None]) -> User:
    """Once the current password is confirmed, ``end_sessions`` (every token of the person,
    the thief's too) runs *before* the new hash is stored: a failure between the two then
    leaves the old password with every session ended, never a new password with the old
    sessions alive. Of two changes at once, the second finds the hash it confirmed gone and is
    refused (ConcurrencyError): it confirmed a password that no longer is."""
    user = current_user(ctx, user_id)
    _confirm_password(ctx, user, current, attempts, WRONG_CURRENT, "currentPassword")
    updated = user.with_profile(ctx.clock.now(), password_hash=ctx.hasher.hash(check_password(new)))
    end_sessions(user.id)
    if not ctx.users.update(user, updated):
        raise ConcurrencyError("the password was changed meanwhile: sign in again")
    return updated


def prove_for_payout(ctx: Context, user: User, phone: str, idempotency_key: str, proof: Proof,
                     attempts: LoginAttempts) -> None:
    """As ``prove_for_phone``; but a resend of a request already accepted under this key needs
    no proof: it can only answer the first response (or a mismatch), never move money."""
    if ctx.payouts.by_idempotency_key(user.id, idempotency_key) is None:
        prove_for_phone(ctx, user, phone, proof, attempts)


def prove_for_phone(ctx: Context, user: User, phone: str | None, proof: Proof,
                    attempts: LoginAttempts) -> None:
    """Money to a phone not on the profile, or a new profile phone, needs fresh proof."""
    if proof.fresh or not needs_proof_for_phone(user, phone):
        return
    if proof.password is None:
        raise Unauthorized(PROOF_NEEDED, {"password": ["required for this phone"]})
    _confirm_password(ctx, current_user(ctx, user.id), proof.password, attempts,
                      PROOF_NEEDED, "password")


def current_user(ctx: Context, user_id: str) -> User:
    user = ctx.users.get(user_id)
    if user is None:
        raise Unauthorized("the account no longer exists")
    return user


def update_profile(ctx: Context, user_id: str, changes: dict[str, str | None]) -> User:
    user = ctx.users.get(user_id)
    if user is None:
        raise NotFound("user not found")
    fields: dict[str, object] = {}
    if "firstName" in changes:
        fields["first_name"] = check_name("firstName", changes["firstName"] or "")
    if "lastName" in changes:
        fields["last_name"] = check_name("lastName", changes["lastName"] or "")
    if "phone" in changes:
        fields["phone"] = changes["phone"]
    updated = user.with_profile(ctx.clock.now(), **fields)
    if not ctx.users.update(user, updated):
        raise NotFound("user not found")
    return updated
