"""Lockout, password upgrades, password changes and fresh proof, against fakes."""

from __future__ import annotations

import dataclasses

import pytest

from domain.errors import ConcurrencyError, Unauthorized
from domain.services import accounts, wallet
from domain.services.accounts import BAD_CREDENTIALS, Proof
from tests.unit.fake_attempts import FakeAttempts
from tests.unit.world import PASSWORD, PHONE, World

OTHER_PHONE = "254712340002"


def _must_not_end(user_id: str) -> None:
    raise AssertionError("sessions ended by a refused password change")


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
                                 attempts, end_sessions=_must_not_end)
    assert "currentPassword" in refused.value.details
    assert attempts.failures == {"buyer@example.com": 1}
    assert world.fakes.users.get(world.buyer.id) == world.buyer
    changed = accounts.change_password(world.ctx, world.buyer.id, PASSWORD,
                                       "a new passphrase", attempts, end_sessions=lambda _: None)
    assert changed.password_hash == world.fakes.hasher.hash("a new passphrase")
    assert world.fakes.users.get(world.buyer.id) == changed


def test_a_locked_account_cannot_change_its_password_even_with_the_right_one(
    world: World,
) -> None:
    attempts = FakeAttempts(threshold=1)
    assert attempts.begin("buyer@example.com")  # one attempt, not a success: locked
    with pytest.raises(Unauthorized):
        accounts.change_password(world.ctx, world.buyer.id, PASSWORD, "a new passphrase",
                                 attempts, end_sessions=_must_not_end)
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


class _GuessesArriveMeanwhile:
    """A hasher whose every check takes long enough for the other sign-ins to arrive: they start
    (and run through, each interleaved the same way) while this one is still being checked,
    as parallel requests do on a threaded server. ``checks`` counts real checks."""

    def __init__(self, world: World, attempts: FakeAttempts, more: int) -> None:
        self.inner, self.world, self.attempts, self.more = world.fakes.hasher, world, attempts, more
        self.ctx = dataclasses.replace(world.ctx, hasher=self)
        self.checks = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        while self.more > 0:
            self.more -= 1
            with pytest.raises(Unauthorized):
                accounts.authenticate(self.ctx, "buyer@example.com", "guess", self.attempts)
        return self.inner.verify(password_hash, password)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_guesses_sent_in_parallel_get_no_more_checks_than_the_threshold(world: World) -> None:
    attempts = FakeAttempts()
    parallel = _GuessesArriveMeanwhile(world, attempts, more=49)
    with pytest.raises(Unauthorized):
        accounts.authenticate(parallel.ctx, "buyer@example.com", "guess", attempts)
    assert parallel.checks == 10  # of 50 guesses, as many as the threshold
    assert world.fakes.hasher.dummy_checks.count("guess") == 40  # the rest: locked, alike
    assert attempts.failures == {"buyer@example.com": 10}


class _ReadBeforeTheChange:
    """The users repository as a request sees it when it read the record just before another
    request changed it: its ``get`` answers the old record once; writes go to the real fake."""

    def __init__(self, world: World, old: object) -> None:
        self.inner, self.old = world.fakes.users, old

    def get(self, user_id: str) -> object:
        old, self.old = self.old, None
        return old if old is not None else self.inner.get(user_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _change(world: World, new: str = "a new passphrase", **kwargs: object) -> object:
    ended: list[str] = []
    changed = accounts.change_password(world.ctx, world.buyer.id, PASSWORD, new, FakeAttempts(),
                                       end_sessions=ended.append, **kwargs)
    assert ended == [world.buyer.id]
    return changed


def test_a_profile_edit_that_read_before_a_password_change_does_not_undo_it(
    world: World,
) -> None:
    read_before = world.fakes.users.get(world.buyer.id)
    _change(world)
    stale = dataclasses.replace(world.ctx, users=_ReadBeforeTheChange(world, read_before))
    accounts.update_profile(stale, world.buyer.id, {"firstName": "Achieng"})
    stored = world.fakes.users.get(world.buyer.id)
    assert stored is not None and stored.first_name == "Achieng"
    assert stored.password_hash == world.fakes.hasher.hash("a new passphrase")


def test_a_sign_in_that_upgrades_the_hash_never_overwrites_a_password_changed_meanwhile(
    world: World,
) -> None:
    old = dataclasses.replace(world.buyer, password_hash=world.fakes.hasher.OLD_PREFIX + PASSWORD)
    world.fakes.users.save(old)
    read_before = world.fakes.users.by_email("buyer@example.com")
    _change(world)
    stale = dataclasses.replace(world.ctx, users=_ReadBeforeTheChange(world, None))
    stale.users.by_email = lambda email: read_before  # type: ignore[method-assign]
    accounts.authenticate(stale, "buyer@example.com", PASSWORD, FakeAttempts())
    stored = world.fakes.users.get(world.buyer.id)
    assert stored is not None
    assert stored.password_hash == world.fakes.hasher.hash("a new passphrase")


def test_every_session_ends_before_the_new_password_is_stored(world: World) -> None:
    seen: list[str] = []

    def end_sessions(user_id: str) -> None:
        stored = world.fakes.users.get(user_id)
        assert stored is not None
        seen.append(stored.password_hash)

    accounts.change_password(world.ctx, world.buyer.id, PASSWORD, "a new passphrase",
                             FakeAttempts(), end_sessions=end_sessions)
    assert seen == [world.fakes.hasher.hash(PASSWORD)]  # still the old one when they ended


def test_two_password_changes_at_once_store_one_and_refuse_the_other(world: World) -> None:
    read_before = world.fakes.users.get(world.buyer.id)
    _change(world, "the first new one")
    stale = dataclasses.replace(world.ctx, users=_ReadBeforeTheChange(world, read_before))
    with pytest.raises(ConcurrencyError):
        accounts.change_password(stale, world.buyer.id, PASSWORD, "the second new one",
                                 FakeAttempts(), end_sessions=lambda _: None)
    stored = world.fakes.users.get(world.buyer.id)
    assert stored is not None and stored.password_hash == world.fakes.hasher.hash(
        "the first new one")
