"""Settings.from_env: what production refuses to start with (callback hygiene)."""

from __future__ import annotations

import pytest

from adapters.settings import Settings

GOOD_TOKEN = "Xq3v9TnK2pLr8sWd4yHb6mJc1fGz7aEu"  # 32 characters, random-looking
PRODUCTION = {
    "APP_ENV": "production", "MONGO_URL": "mongodb://db.internal:27017/?replicaSet=rs0",
    "REDIS_URL": "redis://cache.internal:6379/0", "JWT_SECRET_KEY": "j" * 8 + GOOD_TOKEN,
    "SENTRY_DSN": "https://public@sentry.invalid/1",
    "MPESA_BASE_URL": "https://api.safaricom.co.ke", "MPESA_CONSUMER_KEY": "key",
    "MPESA_CONSUMER_SECRET": "secret", "MPESA_SHORTCODE": "600100", "MPESA_PASSKEY": "passkey",
    "MPESA_CALLBACK_TOKEN": GOOD_TOKEN, "PUBLIC_BASE_URL": "https://escrow.example.co.ke",
    "MPESA_B2C_SHORTCODE": "600200", "MPESA_INITIATOR_NAME": "apiop",
    "MPESA_SECURITY_CREDENTIAL": "c2VjdXJpdHk=",
    "MPESA_CALLBACK_ALLOWED_IPS": "196.201.214.0/24,196.201.213.44",
}
OPTIONAL = ("MPESA_CALLBACK_ALLOW_ANY_SOURCE", "TRUSTED_PROXY_HOPS")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    for name in OPTIONAL:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        if value == "":
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    return str(stopped.value)


def test_production_starts_with_a_strong_token_and_an_allow_list(
    production: pytest.MonkeyPatch,
) -> None:
    settings = Settings.from_env()
    assert settings.mpesa_callback_allowed_ips == ("196.201.214.0/24", "196.201.213.44")
    assert settings.trusted_proxy_hops == 0 and not settings.mpesa_callback_allow_any_source


@pytest.mark.parametrize("token", [
    "Xq3v9TnK2pLr8sWd4yHb6mJc1fGz7aE",  # 31 characters
    "short",
    "a" * 64,  # one repeated character
    "ab" * 20,  # a repeated pattern
    "0123456789abcdef" * 2,  # a repeated 16-character pattern
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbb",  # too few distinct characters
], ids=["31-chars", "short", "one-char", "two-char-pattern", "16-char-pattern", "two-letters"])
def test_production_refuses_a_short_or_trivially_weak_callback_token(
    production: pytest.MonkeyPatch, token: str,
) -> None:
    message = _refusal(production, MPESA_CALLBACK_TOKEN=token)
    assert "MPESA_CALLBACK_TOKEN" in message
    assert token not in message  # never the value itself


def test_the_token_rule_is_for_production_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("MPESA_CALLBACK_TOKEN", "tok")
    monkeypatch.delenv("MPESA_CALLBACK_ALLOWED_IPS", raising=False)
    assert Settings.from_env().mpesa_callback_token == "tok"


def test_production_refuses_to_start_without_an_allow_list(
    production: pytest.MonkeyPatch,
) -> None:
    message = _refusal(production, MPESA_CALLBACK_ALLOWED_IPS="")
    assert "MPESA_CALLBACK_ALLOWED_IPS" in message
    assert "MPESA_CALLBACK_ALLOW_ANY_SOURCE" in message


def test_production_may_accept_any_source_when_told_so_explicitly(
    production: pytest.MonkeyPatch,
) -> None:
    production.delenv("MPESA_CALLBACK_ALLOWED_IPS")
    production.setenv("MPESA_CALLBACK_ALLOW_ANY_SOURCE", "true")
    settings = Settings.from_env()
    assert settings.mpesa_callback_allow_any_source
    assert settings.mpesa_callback_allowed_ips == ()


def test_an_allow_list_and_allow_any_source_together_are_ambiguous(
    production: pytest.MonkeyPatch,
) -> None:
    message = _refusal(production, MPESA_CALLBACK_ALLOW_ANY_SOURCE="true")
    assert "not both" in message


def test_a_malformed_allow_list_entry_is_refused_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "development")
    message = _refusal(monkeypatch, MPESA_CALLBACK_ALLOWED_IPS="10.0.0.1,safaricom.example")
    assert "MPESA_CALLBACK_ALLOWED_IPS" in message and "safaricom.example" not in message


def test_trusted_proxy_hops_is_read_and_may_not_be_negative(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("TRUSTED_PROXY_HOPS", "2")
    assert Settings.from_env().trusted_proxy_hops == 2
    assert "TRUSTED_PROXY_HOPS" in _refusal(production, TRUSTED_PROXY_HOPS="-1")


def test_dependency_timeouts_default_to_bounds_that_keep_a_request_under_two_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MONGO_TIMEOUT_S", "REDIS_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    # A request with Redis hung pays the rate limiter's half timeout and one Redis call; with
    # MongoDB hung, one Mongo operation (docs/operations.md, "When Redis or MongoDB is down").
    assert settings.redis_timeout_s * 1.5 < 2.0 and settings.mongo_timeout_s < 2.0


def test_dependency_timeouts_are_read_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONGO_TIMEOUT_S", "3")
    monkeypatch.setenv("REDIS_TIMEOUT_S", "0.25")
    settings = Settings.from_env()
    assert (settings.mongo_timeout_s, settings.redis_timeout_s) == (3.0, 0.25)
    assert "REDIS_TIMEOUT_S" in _refusal(monkeypatch, REDIS_TIMEOUT_S="0")
    assert "MONGO_TIMEOUT_S" in _refusal(monkeypatch, MONGO_TIMEOUT_S="-1")
