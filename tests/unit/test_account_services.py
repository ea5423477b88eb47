"""Registering and signing in, against fakes."""

from __future__ import annotations

import pytest

from domain.errors import Conflict, InvalidInput, Unauthorized
from domain.services import accounts
from domain.services.context import Context
from domain.users import Role
from tests.unit.conftest import World


def test_registration_normalises_the_email_and_hashes_the_password(ctx: Context) -> None:
    user = accounts.register(ctx, "  Wanjiru@Example.COM ", "a long password", " Wanjiru ",
                             "Kamau", "seller")
    assert user.email == "wanjiru@example.com" and user.first_name == "Wanjiru"
    assert user.role is Role.SELLER and user.password_hash != "a long password"
    assert ctx.users.get(user.id) == user


@pytest.mark.parametrize(("field", "args"), [
    ("role", ("x@example.com", "a long password", "A", "B", "admin")),
    ("password", ("x@example.com", "short", "A", "B", "buyer")),
    ("firstName", ("x@example.com", "a long password", "  ", "B", "buyer")),
])
def test_registration_refuses_bad_fields(ctx: Context, field: str, args: tuple) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.register(ctx, *args)
    assert refused.value.field == field


def test_an_email_holds_one_account(world: World) -> None:
    with pytest.raises(Conflict):
        accounts.register(world.ctx, "BUYER@example.com", "a long password", "A", "B", "buyer")


def test_unknown_email_and_wrong_password_are_the_same_failure(world: World) -> None:
    with pytest.raises(Unauthorized) as unknown:
        accounts.authenticate(world.ctx, "nobody@example.com", "a long password")
    with pytest.raises(Unauthorized) as wrong:
        accounts.authenticate(world.ctx, "buyer@example.com", "not the password")
    assert unknown.value.message == wrong.value.message
    assert accounts.authenticate(world.ctx, "Buyer@example.com", "a long password") == world.buyer


def test_admins_are_made_only_by_operators(ctx: Context) -> None:
    admin = accounts.create_admin(ctx, "ops@example.com", "an operator password")
    assert admin.is_admin


def test_a_profile_edit_changes_only_what_was_given(world: World) -> None:
    world.ctx.clock.advance(minutes=5)  # type: ignore[attr-defined]
    edited = accounts.update_profile(world.ctx, world.buyer.id, {"lastName": "Mwangi"})
    assert (edited.first_name, edited.last_name) == ("Amina", "Mwangi")
    assert edited.updated_at > world.buyer.updated_at and edited.role is Role.BUYER
