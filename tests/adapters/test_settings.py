"""Settings.from_env: what production refuses to start with (callback hygiene)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.settings import SANDBOX_PASSKEY, Settings

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
    "FLOWER_BASIC_AUTH": "ops:Vb7nQ2xLk9Rt4wZp",  # a 16-character password
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


@pytest.mark.parametrize("typo", ["prod", "Production", "staging", "develop", ""])
def test_an_unknown_app_env_refuses_to_start_with_one_line_naming_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, typo: str,
) -> None:
    monkeypatch.setenv("APP_ENV", typo)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    message = str(stopped.value)
    assert "\n" not in message and "APP_ENV" in message
    assert "development, test, production" in message


@pytest.mark.parametrize("app_env", ["development", "test"])
def test_the_known_non_production_environments_start_with_their_defaults(
    monkeypatch: pytest.MonkeyPatch, app_env: str,
) -> None:
    monkeypatch.setenv("APP_ENV", app_env)
    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    assert Settings.from_env().app_env == app_env


def test_production_refuses_to_start_without_flower_basic_auth(
    production: pytest.MonkeyPatch,
) -> None:
    assert "FLOWER_BASIC_AUTH" in _refusal(production, FLOWER_BASIC_AUTH="")


@pytest.mark.parametrize("auth", [
    "ops:short-password",  # 14 characters
    "ops",  # no password
    ":Vb7nQ2xLk9Rt4wZp",  # no user
    "ops:" + "ab" * 10,  # a pattern
    "ops:Vb7nQ2xLk9Rt4wZp,ci:Vb7nQ2xLk9Rt4wZp",  # two pairs: one rule per user
], ids=["short", "no-password", "no-user", "pattern", "two-pairs"])
def test_production_refuses_a_weak_flower_password(
    production: pytest.MonkeyPatch, auth: str,
) -> None:
    message = _refusal(production, FLOWER_BASIC_AUTH=auth)
    assert "FLOWER_BASIC_AUTH" in message
    assert auth.partition(":")[2] not in message or not auth.partition(":")[2]


@pytest.mark.parametrize("secret", [
    "j" * 64, "short-jwt-secret", "Xq3v9TnK2pLr8sWd4yHb6mJc1fGz7aE",
], ids=["one-char", "short", "31-chars"])
def test_production_refuses_a_short_or_trivially_weak_jwt_secret(
    production: pytest.MonkeyPatch, secret: str,
) -> None:
    message = _refusal(production, JWT_SECRET_KEY=secret)
    assert "JWT_SECRET_KEY" in message and secret not in message


def test_production_refuses_the_sandboxs_published_passkey(
    production: pytest.MonkeyPatch,
) -> None:
    assert "MPESA_PASSKEY" in _refusal(production, MPESA_PASSKEY=SANDBOX_PASSKEY)


def test_every_weak_secret_is_named_at_once(production: pytest.MonkeyPatch) -> None:
    message = _refusal(production, JWT_SECRET_KEY="weak", MPESA_CALLBACK_TOKEN="weak",
                       FLOWER_BASIC_AUTH="ops:weak")
    assert all(name in message for name in
               ("JWT_SECRET_KEY", "MPESA_CALLBACK_TOKEN", "FLOWER_BASIC_AUTH"))


def test_in_development_the_cli_finds_the_addresses_make_run_wrote(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    (tmp_path / "stack.env").write_text(
        "MONGO_URL=mongodb://127.0.0.1:31017\nREDIS_URL=redis://127.0.0.1:6391/0\n"
        "JWT_SECRET_KEY=not-taken-from-here\n")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("MONGO_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")  # the environment wins
    settings = Settings.from_env()
    assert settings.mongo_url == "mongodb://127.0.0.1:31017"
    assert settings.redis_url == "redis://elsewhere:6379/0"
    assert settings.jwt_secret_key != "not-taken-from-here"  # addresses only


def test_outside_development_the_stack_file_is_ignored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    (tmp_path / "stack.env").write_text("MONGO_URL=mongodb://127.0.0.1:31017\n")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.delenv("MONGO_URL", raising=False)
    assert Settings.from_env().mongo_url == Settings().mongo_url


def test_metrics_are_off_unless_a_port_is_given_and_loopback_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("METRICS_PORT", raising=False)
    monkeypatch.delenv("METRICS_ADDR", raising=False)
    assert Settings.from_env().metrics_port == 0
    monkeypatch.setenv("METRICS_PORT", "9464")
    settings = Settings.from_env()
    assert (settings.metrics_port, settings.metrics_addr) == (9464, "127.0.0.1")


@pytest.mark.parametrize("given", ["", "   "])
def test_an_empty_metrics_addr_is_loopback_not_every_interface(
    monkeypatch: pytest.MonkeyPatch, given: str,
) -> None:
    """prometheus_client binds "" to every interface: an empty METRICS_ADDR= (a template's
    blank line) must not publish the metrics."""
    monkeypatch.setenv("METRICS_PORT", "9464")
    monkeypatch.setenv("METRICS_ADDR", given)
    assert Settings.from_env().metrics_addr == "127.0.0.1"
    monkeypatch.setenv("METRICS_ADDR", " 10.0.0.7 ")
    assert Settings.from_env().metrics_addr == "10.0.0.7"  # an address given is kept


def test_make_run_with_overridden_ports_writes_where_the_cli_finds_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from devstack.run import environment, write_stack_env

    for name in ("MONGO_URL", "REDIS_URL", "APP_ENV", "PUBLIC_BASE_URL", "MONGO_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMBEDDED_MONGO_PORT", "27999")
    monkeypatch.setenv("EMBEDDED_REDIS_PORT", "6999")
    monkeypatch.setenv("API_PORT", "5999")
    monkeypatch.setenv("MPESA_BASE_URL", "http://127.0.0.1:8999")  # no sandbox keys to make
    env, _ = environment(tmp_path)
    written = write_stack_env(tmp_path, env).read_text()
    assert "JWT_SECRET_KEY" not in written and "MPESA_CALLBACK_TOKEN" not in written
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MPESA_BASE_URL")
    settings = Settings.from_env()  # what `flask --app wsgi …` reads, with none of them set
    assert settings.mongo_url == "mongodb://127.0.0.1:27999"
    assert settings.redis_url == "redis://127.0.0.1:6999/0"
    assert settings.public_base_url == "http://127.0.0.1:5999"
    assert settings.mpesa_base_url == "http://127.0.0.1:8999"


def test_cheap_password_hashing_is_for_tests_and_production_refuses_it(
    production: pytest.MonkeyPatch,
) -> None:
    assert Settings.from_env().argon2_profile == "default"
    assert "ARGON2_PROFILE" in _refusal(production, ARGON2_PROFILE="test")


def test_an_unknown_password_hashing_profile_is_refused_anywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("ARGON2_PROFILE", "test")
    assert Settings.from_env().argon2_profile == "test"
    assert "ARGON2_PROFILE" in _refusal(monkeypatch, ARGON2_PROFILE="fast")
