"""Registering, signing in and editing one's profile."""

from __future__ import annotations

from domain.errors import NotFound, Unauthorized
from domain.services.context import Context
from domain.users import (
    Role,
    User,
    check_name,
    check_password,
    check_self_service_role,
    normalise_email,
)

BAD_CREDENTIALS = "invalid email or password"


def register(
    ctx: Context, email: str, password: str, first_name: str, last_name: str, role: str,
    phone: str | None = None,
) -> User:
    role_ = check_self_service_role(role)
    return _create(ctx, email, password, first_name, last_name, role_, phone)


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


def authenticate(ctx: Context, email: str, password: str) -> User:
    """The same answer, in about the same time, for an unknown email and a wrong password."""
    user = ctx.users.by_email(normalise_email(email))
    if user is None:
        ctx.hasher.verify_dummy(password)
        raise Unauthorized(BAD_CREDENTIALS)
    if not ctx.hasher.verify(user.password_hash, password):
        raise Unauthorized(BAD_CREDENTIALS)
    return user


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
    ctx.users.save(updated)
    return updated
