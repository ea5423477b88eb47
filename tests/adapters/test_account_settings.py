"""Settings of account protection: PCI DSS's defaults, overridable, and never unusable."""

from __future__ import annotations

import pytest

from adapters.settings import Settings

NAMES = ("LOGIN_LOCK_THRESHOLD", "LOGIN_LOCK_MINUTES", "ACCESS_TOKEN_SECONDS",
         "ACCESS_TOKEN_MINUTES", "REFRESH_TOKEN_DAYS")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("APP_ENV", "development")
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_lockout_defaults_to_ten_failures_and_thirty_minutes(env: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env()
    assert (settings.login_lock_threshold, settings.login_lock_minutes) == (10, 30)
    assert (settings.access_token_s, settings.refresh_token_s) == (15 * 60, 7 * 86400)


def test_the_lockout_and_a_seconds_long_access_token_are_read(env: pytest.MonkeyPatch) -> None:
    env.setenv("LOGIN_LOCK_THRESHOLD", "3")
    env.setenv("LOGIN_LOCK_MINUTES", "5")
    env.setenv("ACCESS_TOKEN_SECONDS", "4")
    settings = Settings.from_env()
    assert (settings.login_lock_threshold, settings.login_lock_minutes) == (3, 5)
    assert settings.access_token_s == 4


@pytest.mark.parametrize(("name", "value"), [
    ("LOGIN_LOCK_THRESHOLD", "0"), ("LOGIN_LOCK_MINUTES", "0"), ("ACCESS_TOKEN_SECONDS", "-1"),
])
def test_a_lockout_that_could_never_lock_or_never_end_is_refused(
    env: pytest.MonkeyPatch, name: str, value: str,
) -> None:
    env.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert name in str(stopped.value)
