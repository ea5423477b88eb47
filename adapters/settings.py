"""Configuration, read from the environment in exactly one place."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from environs import Env

# Only these must be given in production; everything else has a safe default.
REQUIRED_IN_PRODUCTION = (
    "MONGO_URL", "REDIS_URL", "JWT_SECRET_KEY", "SENTRY_DSN", "MPESA_BASE_URL",
    "MPESA_CONSUMER_KEY", "MPESA_CONSUMER_SECRET", "MPESA_SHORTCODE", "MPESA_PASSKEY",
    "MPESA_CALLBACK_TOKEN", "PUBLIC_BASE_URL", "MPESA_B2C_SHORTCODE", "MPESA_INITIATOR_NAME",
    "FLOWER_BASIC_AUTH",
)
APP_ENVS = ("development", "test", "production")  # anything else is a typo: refuse to start
# `make run` writes the addresses it chose here (devstack/run.py); in development a process
# started without them in its environment (the operator's CLI) finds the running stack.
STACK_FILE = "stack.env"
STACK_ADDRESSES = ("MONGO_URL", "MONGO_DB", "REDIS_URL", "MPESA_BASE_URL", "PUBLIC_BASE_URL")
MIN_JWT_SECRET = 32  # characters (HS256 wants at least 256 bits of key)
MIN_FLOWER_PASSWORD = 16
SANDBOX_INITIATOR_PASSWORD = "Safaricom999!*!"  # public, like the passkey
SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"  # public
MIN_CALLBACK_TOKEN = 32  # characters: the token is the secret part of every callback URL


class MissingSettings(SystemExit):
    def __init__(self, names: list[str]) -> None:
        super().__init__(
            "refusing to start in production without: " + ", ".join(names)
            + " (set them in the environment)"
        )


class UnsafeSettings(SystemExit):
    """Set, but unsafe or malformed: each reason names its variable, never its value."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("refusing to start: " + "; ".join(reasons))


class UnknownEnvironment(SystemExit):
    def __init__(self, value: str) -> None:
        super().__init__(f"refusing to start: APP_ENV={value!r} is not one of "
                         + ", ".join(APP_ENVS) + " (a typo would run development's defaults)")


def weak_secret(name: str, value: str, minimum: int = MIN_CALLBACK_TOKEN) -> str | None:
    """Why ``value`` is too weak for the secret ``name``, or None; never the value itself."""
    if len(value) < minimum:
        return f"{name} must be at least {minimum} characters"
    periodic = any(value == (value[:n] * (len(value) // n + 1))[:len(value)]
                   for n in range(1, len(value) // 2 + 1))
    if periodic or len(set(value)) < 8:
        return (f"{name} is trivially weak (a repeated pattern or too few distinct "
                "characters): use a random value, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'")
    return None


def weak_callback_token(token: str) -> str | None:
    """Why ``token`` may not guard production's callback URLs, or None if it may."""
    return weak_secret("MPESA_CALLBACK_TOKEN", token)


def weak_flower_auth(value: str | None) -> str | None:
    """FLOWER_BASIC_AUTH is ``user:password``, the password long and not a pattern."""
    text = value or ""
    user, _, password = text.partition(":")
    if not user or not password or "," in text:
        return "FLOWER_BASIC_AUTH must be one user:password pair"
    return weak_secret("FLOWER_BASIC_AUTH's password", password, MIN_FLOWER_PASSWORD)


def stack_addresses(environ: Mapping[str, str]) -> dict[str, str]:
    """In development, the addresses `make run` wrote to ``$DATA_DIR/stack.env`` (.data/)."""
    if environ.get("APP_ENV", "development") != "development":
        return {}
    path = Path(environ.get("DATA_DIR") or ".data") / STACK_FILE
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in lines if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if key.strip() in STACK_ADDRESSES}


def _entries(values: list[str] | None) -> tuple[str, ...]:
    return tuple(entry.strip() for entry in values or [] if entry.strip())


def _bad_networks(entries: tuple[str, ...]) -> list[str]:
    bad = []
    for index, entry in enumerate(entries, start=1):
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            bad.append(str(index))
    return bad


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    mongo_url: str = "mongodb://127.0.0.1:27027"
    mongo_db: str = "escrow"
    redis_url: str = "redis://127.0.0.1:6390/0"
    socketio_channel: str = "escrow-development"
    jwt_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48), repr=False)
    access_token_minutes: int = 15
    access_token_seconds: int = 0  # tests only: when above 0, it replaces access_token_minutes
    refresh_token_days: int = 7
    login_lock_threshold: int = 10  # failed logins for one account (PCI DSS 4.0 req. 8.3.4) …
    login_lock_minutes: int = 30  # … within this window lock it for this long
    argon2_profile: str = "default"  # "test": the least work, for the test suite (never production)
    public_base_url: str = "http://127.0.0.1:5000"
    mpesa_base_url: str = "http://127.0.0.1:8090"
    mpesa_consumer_key: str = field(default="sandbox-consumer-key", repr=False)
    mpesa_consumer_secret: str = field(default="sandbox-consumer-secret", repr=False)
    mpesa_shortcode: str = "174379"
    mpesa_passkey: str = field(default=SANDBOX_PASSKEY, repr=False)
    mpesa_transaction_type: str = "CustomerPayBillOnline"
    mpesa_callback_token: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    mpesa_b2c_shortcode: str = "600000"
    mpesa_initiator_name: str = "testapi"
    mpesa_initiator_password: str = field(default="Safaricom999!*!", repr=False)  # sandbox's
    mpesa_certificate_path: str | None = None
    mpesa_security_credential: str | None = field(default=None, repr=False)
    mpesa_callback_allowed_ips: tuple[str, ...] = ()  # addresses or CIDRs; empty: any
    mpesa_callback_allow_any_source: bool = False  # production: the explicit "no allow-list"
    trusted_proxy_hops: int = 0  # proxies in front of the API that append X-Forwarded-For
    callback_match_window_s: int = 120
    payout_status_after_s: int = 60
    payout_requeue_after_s: int = 60
    mpesa_connect_timeout_s: float = 5.0
    mpesa_read_timeout_s: float = 30.0
    # The longest one call to a dependency may take, so that a request never waits on a
    # hung one longer than 2 s in all (docs/operations.md, "When Redis or MongoDB is down").
    mongo_timeout_s: float = 1.0  # one MongoDB operation: selection, connection, retry included
    redis_timeout_s: float = 0.5  # one Redis command, or a connection to it (broker included)
    sentry_dsn: str | None = field(default=None, repr=False)
    release: str | None = None
    cors_origins: tuple[str, ...] = ()
    ratelimit_enabled: bool = True
    ratelimit_auth: str = "20/minute"
    ratelimit_default: str = "600/minute"
    fee_rate_bps: int = 0
    stk_query_delays_s: tuple[int, ...] = (60, 60, 120, 240, 480, 960, 1920)
    log_level: str = "INFO"
    flower_basic_auth: str | None = field(default=None, repr=False)
    metrics_port: int = 0  # Prometheus metrics on their own port (api/metrics.py); 0: off
    metrics_addr: str = "127.0.0.1"

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def access_token_s(self) -> int:
        return self.access_token_seconds or self.access_token_minutes * 60

    @property
    def refresh_token_s(self) -> int:
        return self.refresh_token_days * 86400

    def callback_url(self, kind: str) -> str:
        """Where M-Pesa should POST results of ``kind`` (``stk/callback``, ``b2c/result``…)."""
        return f"{self.public_base_url.rstrip('/')}/api/mpesa/{kind}/{self.mpesa_callback_token}"

    @classmethod
    def from_env(cls) -> Settings:
        """Read the process environment; in production, refuse to start without the secrets."""
        env = Env(eager=False)
        app_env = os.environ.get("APP_ENV", "development")
        if app_env not in APP_ENVS:
            raise UnknownEnvironment(app_env)
        stack = stack_addresses(os.environ)
        if app_env == "production":
            missing = [name for name in REQUIRED_IN_PRODUCTION if not os.environ.get(name)]
            if not os.environ.get("MPESA_SECURITY_CREDENTIAL") and not (
                    os.environ.get("MPESA_INITIATOR_PASSWORD")
                    and os.environ.get("MPESA_CERTIFICATE_PATH")):
                missing.append("MPESA_SECURITY_CREDENTIAL (or MPESA_INITIATOR_PASSWORD with "
                               "MPESA_CERTIFICATE_PATH)")
            if missing:
                raise MissingSettings(missing)
        found: dict[str, Any] = {name.lower(): value for name, value in stack.items()}
        d = replace(cls(), **found)
        values: dict[str, Any] = {
            "app_env": app_env,
            "mongo_url": env.str("MONGO_URL", d.mongo_url),
            "mongo_db": env.str("MONGO_DB", d.mongo_db),
            "redis_url": env.str("REDIS_URL", d.redis_url),
            "socketio_channel": env.str("SOCKETIO_CHANNEL", f"escrow-{app_env}"),
            "jwt_secret_key": env.str("JWT_SECRET_KEY", d.jwt_secret_key),
            "access_token_minutes": env.int("ACCESS_TOKEN_MINUTES", d.access_token_minutes),
            "access_token_seconds": env.int("ACCESS_TOKEN_SECONDS", d.access_token_seconds),
            "refresh_token_days": env.int("REFRESH_TOKEN_DAYS", d.refresh_token_days),
            "login_lock_threshold": env.int("LOGIN_LOCK_THRESHOLD", d.login_lock_threshold),
            "login_lock_minutes": env.int("LOGIN_LOCK_MINUTES", d.login_lock_minutes),
            "argon2_profile": env.str("ARGON2_PROFILE", d.argon2_profile),
            "public_base_url": env.str("PUBLIC_BASE_URL", d.public_base_url),
            "mpesa_base_url": env.str("MPESA_BASE_URL", d.mpesa_base_url),
            "mpesa_consumer_key": env.str("MPESA_CONSUMER_KEY", d.mpesa_consumer_key),
            "mpesa_consumer_secret": env.str("MPESA_CONSUMER_SECRET", d.mpesa_consumer_secret),
            "mpesa_shortcode": env.str("MPESA_SHORTCODE", d.mpesa_shortcode),
            "mpesa_passkey": env.str("MPESA_PASSKEY", d.mpesa_passkey),
            "mpesa_transaction_type": env.str("MPESA_TRANSACTION_TYPE", d.mpesa_transaction_type),
            "mpesa_callback_token": env.str("MPESA_CALLBACK_TOKEN", d.mpesa_callback_token),
            "mpesa_b2c_shortcode": env.str("MPESA_B2C_SHORTCODE", d.mpesa_b2c_shortcode),
            "mpesa_initiator_name": env.str("MPESA_INITIATOR_NAME", d.mpesa_initiator_name),
            "mpesa_initiator_password": env.str("MPESA_INITIATOR_PASSWORD",
                                                d.mpesa_initiator_password),
            "mpesa_certificate_path": env.str("MPESA_CERTIFICATE_PATH", None) or None,
            "mpesa_security_credential": env.str("MPESA_SECURITY_CREDENTIAL", None) or None,
            "mpesa_callback_allowed_ips": _entries(env.list("MPESA_CALLBACK_ALLOWED_IPS", [])),
            "mpesa_callback_allow_any_source": env.bool("MPESA_CALLBACK_ALLOW_ANY_SOURCE",
                                                        d.mpesa_callback_allow_any_source),
            "trusted_proxy_hops": env.int("TRUSTED_PROXY_HOPS", d.trusted_proxy_hops),
            "stk_query_delays_s": tuple(env.list("STK_QUERY_DELAYS_S", list(d.stk_query_delays_s),
                                                 subcast=int)),
            "callback_match_window_s": env.int("CALLBACK_MATCH_WINDOW_S",
                                               d.callback_match_window_s),
            "payout_status_after_s": env.int("PAYOUT_STATUS_AFTER_S", d.payout_status_after_s),
            "payout_requeue_after_s": env.int("PAYOUT_REQUEUE_AFTER_S", d.payout_requeue_after_s),
            "mpesa_connect_timeout_s": env.float("MPESA_CONNECT_TIMEOUT_S",
                                                 d.mpesa_connect_timeout_s),
            "mpesa_read_timeout_s": env.float("MPESA_READ_TIMEOUT_S", d.mpesa_read_timeout_s),
            "mongo_timeout_s": env.float("MONGO_TIMEOUT_S", d.mongo_timeout_s),
            "redis_timeout_s": env.float("REDIS_TIMEOUT_S", d.redis_timeout_s),
            "sentry_dsn": env.str("SENTRY_DSN", None) or None,
            "release": env.str("RELEASE", None) or None,
            "cors_origins": tuple(env.list("CORS_ORIGINS", [])),
            "ratelimit_enabled": env.bool("RATELIMIT_ENABLED", d.ratelimit_enabled),
            "ratelimit_auth": env.str("RATELIMIT_AUTH", d.ratelimit_auth),
            "ratelimit_default": env.str("RATELIMIT_DEFAULT", d.ratelimit_default),
            "fee_rate_bps": env.int("FEE_RATE_BPS", d.fee_rate_bps),
            "log_level": env.str("LOG_LEVEL", d.log_level),
            "flower_basic_auth": env.str("FLOWER_BASIC_AUTH", None) or None,
            "metrics_port": env.int("METRICS_PORT", d.metrics_port),
            # Empty is the loopback default: "" would bind every interface.
            "metrics_addr": env.str("METRICS_ADDR", d.metrics_addr).strip() or d.metrics_addr,
        }
        env.seal()  # raises one error naming every malformed variable
        settings = cls(**values)
        unsafe = settings.unsafe()
        if unsafe:
            raise UnsafeSettings(unsafe)
        return settings

    def unsafe(self) -> list[str]:
        """What makes these settings unfit to run with (in production, or anywhere)."""
        reasons = []
        bad = _bad_networks(self.mpesa_callback_allowed_ips)
        if bad:
            reasons.append("MPESA_CALLBACK_ALLOWED_IPS entries " + ", ".join(bad)
                           + " are not IP addresses or CIDR networks")
        if self.trusted_proxy_hops < 0:
            reasons.append("TRUSTED_PROXY_HOPS must be 0 (no proxy) or more")
        for name, count in (("LOGIN_LOCK_THRESHOLD", self.login_lock_threshold),
                            ("LOGIN_LOCK_MINUTES", self.login_lock_minutes)):
            if count < 1:
                reasons.append(f"{name} must be 1 or more")
        if self.argon2_profile not in ("default", "test"):
            reasons.append("ARGON2_PROFILE must be default or test")
        elif self.argon2_profile == "test" and self.is_production:
            reasons.append("ARGON2_PROFILE=test (cheap password hashing) is for the test suite")
        if self.access_token_seconds < 0:
            reasons.append("ACCESS_TOKEN_SECONDS must be 0 (use ACCESS_TOKEN_MINUTES) or more")
        for name, value in (("MONGO_TIMEOUT_S", self.mongo_timeout_s),
                            ("REDIS_TIMEOUT_S", self.redis_timeout_s)):
            if not value > 0:
                reasons.append(f"{name} must be a number of seconds above 0")
        if not self.is_production:
            return reasons
        reasons.extend(self._weak_secrets())
        if self.mpesa_callback_allowed_ips and self.mpesa_callback_allow_any_source:
            reasons.append("set MPESA_CALLBACK_ALLOWED_IPS or "
                           "MPESA_CALLBACK_ALLOW_ANY_SOURCE=true, not both")
        elif not self.mpesa_callback_allowed_ips and not self.mpesa_callback_allow_any_source:
            reasons.append("MPESA_CALLBACK_ALLOWED_IPS (Safaricom's callback addresses) is "
                           "required in production; set MPESA_CALLBACK_ALLOW_ANY_SOURCE=true to "
                           "accept callbacks from any address")
        return reasons

    def _weak_secrets(self) -> list[str]:
        """Production's secrets: long, not patterns, not the sandbox's published values."""
        weak = [weak_callback_token(self.mpesa_callback_token),
                weak_secret("JWT_SECRET_KEY", self.jwt_secret_key, MIN_JWT_SECRET),
                weak_flower_auth(self.flower_basic_auth)]
        if self.mpesa_passkey == SANDBOX_PASSKEY:
            weak.append("MPESA_PASSKEY is the sandbox's published passkey")
        if self.mpesa_initiator_password == SANDBOX_INITIATOR_PASSWORD \
                and not self.mpesa_security_credential:
            weak.append("MPESA_INITIATOR_PASSWORD is the sandbox's published password")
        return [reason for reason in weak if reason]
