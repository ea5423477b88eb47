"""Lockout, password upgrades, password changes and fresh proof, against fakes."""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import Unauthorized
from domain.services import accounts, wallet
from domain.services.accounts import BAD_CREDENTIALS, Proof
from tests.unit.fake_attempts import FakeAttempts
from tests.unit.world import PASSWORD, PHONE, World

OTHER_PHONE = "254712340002"


def _refusal(world: World, email: str, password: str, attempts: FakeAttempts) -> Unauthorized:
    with pytest.raises(Unauthorized) as refused:
        accounts.authenticate(world.ctx, email, password, attempts)
    return refused.value


def test_ten_failures_lock_the_account_and_the_right_password_is_refused_alike(
    world: World,
) -> None:
    attempts = FakeAttempts()
    wrong = [_refusal(world, "buyer@example.com", "guess", attempts) for _ in range(10)]
    locked = _refusal(world, " BUYER@example.com", PASSWORD, attempts)
    assert {(e.code, e.message, str(e.details)) for e in [*wrong, locked]} == {
        ("UNAUTHORIZED", BAD_CREDENTIALS, "{}")}
    assert world.fakes.hasher.dummy_checks == [PASSWORD]  # the same time spent, no real check
    assert accounts.authenticate(world.ctx, "seller@example.com", PASSWORD, attempts)


def test_nine_failures_do_not_lock_and_a_success_starts_the_count_again(world: World) -> None:
    attempts = FakeAttempts()
    for _ in range(9):
        _refusal(world, "buyer@example.com", "guess", attempts)
    assert accounts.authenticate(world.ctx, "buyer@example.com", PASSWORD, attempts)
    assert attempts.failures == {}


def test_unknown_emails_are_counted_like_known_ones(world: World) -> None:
    attempts = FakeAttempts(threshold=2)
    for _ in range(3):
        _refusal(world, "nobody@example.com", "guess", attempts)
    assert attempts.failures == {"nobody@example.com": 2}  # the third was already locked


def test_a_hash_of_older_parameters_is_replaced_at_a_successful_sign_in(world: World) -> None:
    old = dataclasses.replace(world.buyer, password_hash=world.fakes.hasher.OLD_PREFIX + PASSWORD)
    world.fakes.users.save(old)
    signed_in = accounts.authenticate(world.ctx, "buyer@example.com", PASSWORD, FakeAttempts())
    assert signed_in.password_hash == world.fakes.hasher.hash(PASSWORD)
    assert world.fakes.users.get(world.buyer.id) == signed_in
    _refusal(world, "buyer@example.com", "guess", FakeAttempts())
    assert world.fakes.users.get(world.buyer.id) == signed_in


def test_a_password_change_needs_the_current_password_which_counts_as_an_attempt(
    world: World,
) -> None:
    attempts = FakeAttempts()
    with pytest.raises(Unauthorized) as refused:
        accounts.change_password(world.ctx, world.buyer.id, "guess", "a new passphrase",
                                 attempts)
    assert "currentPassword" in refused.value.details
    assert attempts.failures == {"buyer@example.com": 1}
    assert world.fakes.users.get(world.buyer.id) == world.buyer
    changed = accounts.change_password(world.ctx, world.buyer.id, PASSWORD,
                                       "a new passphrase", attempts)
    assert changed.password_hash == world.fakes.hasher.hash("a new passphrase")
    assert world.fakes.users.get(world.buyer.id) == changed


def test_a_locked_account_cannot_change_its_password_even_with_the_right_one(
    world: World,
) -> None:
    attempts = FakeAttempts(threshold=1)
    attempts.failed("buyer@example.com")
    with pytest.raises(Unauthorized):
        accounts.change_password(world.ctx, world.buyer.id, PASSWORD, "a new passphrase",
                                 attempts)
    assert world.fakes.users.get(world.buyer.id) == world.buyer


@pytest.mark.parametrize(("phone", "proof"), [
    (PHONE, Proof(fresh=False)),  # the profile's own phone
    (OTHER_PHONE, Proof(fresh=True)),
    (OTHER_PHONE, Proof(fresh=False, password=PASSWORD)),
])
def test_a_phone_is_allowed_with_the_profile_phone_a_fresh_token_or_the_password(
    world: World, phone: str, proof: Proof,
) -> None:
    seller = dataclasses.replace(world.seller, phone=PHONE)
    world.fakes.users.save(seller)
    attempts = FakeAttempts()
    accounts.prove_for_phone(world.ctx, seller, phone, proof, attempts)
    assert attempts.failures == {}


@pytest.mark.parametrize("password", [None, "guess"])
def test_another_phone_with_a_stale_token_and_no_right_password_is_refused(
    world: World, password: str | None,
) -> None:
    seller = dataclasses.replace(world.seller, phone=PHONE)
    world.fakes.users.save(seller)
    attempts = FakeAttempts()
    with pytest.raises(Unauthorized) as refused:
        accounts.prove_for_phone(world.ctx, seller, OTHER_PHONE, Proof(False, password),
                                 attempts)
    assert "password" in refused.value.details and "password" in refused.value.message
    assert attempts.failures == ({} if password is None else {"seller@example.com": 1})


def test_a_resend_under_an_accepted_key_needs_no_new_proof(world: World) -> None:
    world.seller_wallet(1500)
    key = "key-1"
    with pytest.raises(Unauthorized):
        accounts.prove_for_payout(world.ctx, world.seller, OTHER_PHONE, key, Proof(False),
                                  FakeAttempts())
    wallet.request_withdrawal(world.ctx, world.seller, 100, OTHER_PHONE, key, "fingerprint")
    accounts.prove_for_payout(world.ctx, world.seller, OTHER_PHONE, key, Proof(False),
                              FakeAttempts())
