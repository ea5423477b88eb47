"""Registering, signing in and editing a profile, against fakes."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import Conflict, InvalidInput, NotFound, Unauthorized
from domain.services import accounts
from domain.services.context import Context
from domain.users import Role
from tests.unit.fake_attempts import FakeAttempts
from tests.unit.fakes import Fakes
from tests.unit.world import PASSWORD, World


def test_registration_normalises_the_email_and_stores_only_the_hash(
    fakes: Fakes, ctx: Context,
) -> None:
    user = accounts.register(ctx, "  Wanjiru@Example.COM ", PASSWORD, " Wanjiru ", "Kamau",
                             "seller", phone="254712345678")
    assert (user.email, user.first_name, user.last_name) == (
        "wanjiru@example.com", "Wanjiru", "Kamau")
    assert (user.role, user.phone, user.id) == (Role.SELLER, "254712345678", "id0001")
    assert user.password_hash == fakes.hasher.hash(PASSWORD) != PASSWORD
    assert user.created_at == user.updated_at == fakes.clock.now()
    assert fakes.users.rows == {user.id: user}


@pytest.mark.parametrize("role", ["buyer", "seller"])
def test_buyers_and_sellers_may_register_themselves(ctx: Context, role: str) -> None:
    assert accounts.register(ctx, "x@example.com", PASSWORD, "A", "B", role).role == Role(role)


@pytest.mark.parametrize("role", ["admin", "ADMIN", "Admin", " buyer", "superuser", ""])
def test_nobody_registers_as_an_admin_or_an_unknown_role(
    fakes: Fakes, ctx: Context, role: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.register(ctx, "x@example.com", PASSWORD, "A", "B", role)
    assert refused.value.field == "role"
    assert fakes.users.rows == {}


@pytest.mark.parametrize(("field", "args"), [
    ("password", ("x@example.com", "short", "A", "B", "buyer")),
    ("password", ("x@example.com", "123456789", "A", "B", "buyer")),
    ("password", ("x@example.com", "x" * 257, "A", "B", "buyer")),
    ("firstName", ("x@example.com", PASSWORD, "  ", "B", "buyer")),
    ("firstName", ("x@example.com", PASSWORD, "A" * 101, "B", "buyer")),
    ("lastName", ("x@example.com", PASSWORD, "A", "", "buyer")),
])
def test_registration_refuses_bad_fields_and_stores_nothing(
    fakes: Fakes, ctx: Context, field: str, args: tuple[Any, ...],
) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.register(ctx, *args)
    assert refused.value.field == field
    assert fakes.users.rows == {}


@pytest.mark.parametrize("password", ["x" * 10, "x" * 256])
def test_passwords_of_ten_to_256_characters_are_accepted(ctx: Context, password: str) -> None:
    user = accounts.register(ctx, "x@example.com", password, "A", "B", "buyer")
    assert accounts.authenticate(ctx, "x@example.com", password, FakeAttempts()) == user


def test_an_email_holds_one_account_whatever_its_case(world: World) -> None:
    with pytest.raises(Conflict):
        accounts.register(world.ctx, " BUYER@example.com", PASSWORD, "A", "B", "seller")
    assert len(world.fakes.users.rows) == 2


def test_the_right_password_signs_in_whatever_the_emails_case(world: World) -> None:
    signed_in = accounts.authenticate(world.ctx, " buyer@EXAMPLE.com ", PASSWORD, FakeAttempts())
    assert signed_in == world.buyer


def test_unknown_email_and_wrong_password_give_the_same_answer(world: World) -> None:
    with pytest.raises(Unauthorized) as unknown:
        accounts.authenticate(world.ctx, "nobody@example.com", PASSWORD, FakeAttempts())
    with pytest.raises(Unauthorized) as wrong:
        accounts.authenticate(world.ctx, "buyer@example.com", "not the password",
                              FakeAttempts())
    assert unknown.value.message == wrong.value.message == "invalid email or password"
    assert unknown.value.code == wrong.value.code == "UNAUTHORIZED"
    assert unknown.value.details == wrong.value.details == {}


def test_an_unknown_email_still_spends_one_password_check(world: World) -> None:
    with pytest.raises(Unauthorized):
        accounts.authenticate(world.ctx, "nobody@example.com", "guess", FakeAttempts())
    assert world.fakes.hasher.dummy_checks == ["guess"]
    with pytest.raises(Unauthorized):
        accounts.authenticate(world.ctx, "buyer@example.com", "guess", FakeAttempts())
    assert world.fakes.hasher.dummy_checks == ["guess"]  # a real check, not a dummy one


def test_admins_are_made_only_by_operators(fakes: Fakes, ctx: Context) -> None:
    admin = accounts.create_admin(ctx, "Ops@Example.com", "an operator password")
    assert (admin.is_admin, admin.role, admin.email) == (True, Role.ADMIN, "ops@example.com")
    assert accounts.authenticate(ctx, "ops@example.com", "an operator password",
                                 FakeAttempts()) == admin


def test_the_current_user_must_still_exist(world: World) -> None:
    assert accounts.current_user(world.ctx, world.buyer.id) == world.buyer
    with pytest.raises(Unauthorized):
        accounts.current_user(world.ctx, "gone")


def test_a_profile_edit_changes_only_what_was_given(world: World) -> None:
    world.fakes.clock.advance(minutes=5)
    edited = accounts.update_profile(world.ctx, world.buyer.id,
                                     {"lastName": " Mwangi ", "phone": "254712345678"})
    assert (edited.first_name, edited.last_name, edited.phone) == (
        "Amina", "Mwangi", "254712345678")
    assert edited.updated_at == world.fakes.clock.now() > world.buyer.updated_at
    assert (edited.role, edited.email, edited.created_at) == (
        Role.BUYER, "buyer@example.com", world.buyer.created_at)
    assert world.fakes.users.get(world.buyer.id) == edited


def test_a_profile_edit_refuses_an_empty_name_and_an_unknown_user(world: World) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.update_profile(world.ctx, world.buyer.id, {"firstName": None})
    assert refused.value.field == "firstName"
    assert world.fakes.users.get(world.buyer.id) == world.buyer
    with pytest.raises(NotFound):
        accounts.update_profile(world.ctx, "gone", {"lastName": "X"})
