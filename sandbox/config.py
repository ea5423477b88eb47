"""Configuration of the Daraja sandbox, read from ``SANDBOX_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

PUBLIC_SANDBOX_PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
PUBLIC_INITIATOR_PASSWORD = "Safaricom999!*!"

QueryPendingStyle = Literal["http500", "4999"]
BalanceMode = Literal["valueless", "absent"]

QUERY_PENDING_STYLES: tuple[QueryPendingStyle, ...] = ("http500", "4999")
BALANCE_MODES: tuple[BalanceMode, ...] = ("valueless", "absent")
_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes the simulator's behaviour; see sandbox/README.md for the table."""

    consumer_key: str = "sandbox-consumer-key"
    consumer_secret: str = "sandbox-consumer-secret"
    shortcode: str = "174379"
    passkey: str = PUBLIC_SANDBOX_PASSKEY
    token_ttl_s: int = 3600
    callback_delay_ms: int = 300
    latency_ms: int = 0
    fault_rate: float = 0.0
    oauth_fault_rate: float = 0.0
    """Share of token requests answered HTTP 503 (the OAuth service down); separate draw."""
    seed: int | None = None
    query_pending_style: QueryPendingStyle = "http500"
    strict_callback_url: bool = False
    balance_mode: BalanceMode = "valueless"
    b2c_shortcode: str = "600000"
    initiator_name: str = "testapi"
    initiator_password: str = PUBLIC_INITIATOR_PASSWORD
    key_path: str | None = None
    """PEM private key; with ``cert_path``. Both unset: a key pair is generated in memory."""
    cert_path: str | None = None
    result_delay_ms: int | None = None
    """Delay of B2C, status and reversal results; None: the same as ``callback_delay_ms``."""

    def __post_init__(self) -> None:
        for name, code in (("shortcode", self.shortcode), ("b2c_shortcode", self.b2c_shortcode)):
            if not code.isascii() or not code.isdigit():
                raise ValueError(f"{name} must be digits, got {code!r}")
        if not self.initiator_name or not self.initiator_password:
            raise ValueError("initiator_name and initiator_password must not be empty")
        if (self.key_path is None) != (self.cert_path is None):
            raise ValueError("key_path and cert_path must be set together (or both left unset)")
        if self.result_delay_ms is not None and self.result_delay_ms < 0:
            raise ValueError("result_delay_ms must not be negative")
        if self.token_ttl_s < 1:
            raise ValueError("token_ttl_s must be at least 1")
        if self.callback_delay_ms < 0 or self.latency_ms < 0:
            raise ValueError("callback_delay_ms and latency_ms must not be negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        if not 0.0 <= self.oauth_fault_rate <= 1.0:
            raise ValueError("oauth_fault_rate must be between 0 and 1")
        if self.query_pending_style not in QUERY_PENDING_STYLES:
            raise ValueError(f"query_pending_style must be one of {QUERY_PENDING_STYLES}")
        if self.balance_mode not in BALANCE_MODES:
            raise ValueError(f"balance_mode must be one of {BALANCE_MODES}")

    @property
    def expires_in(self) -> str:
        """The ``expires_in`` Daraja reports: one second less than the lifetime, as a string."""
        return str(self.token_ttl_s - 1)

    @property
    def result_delay_s(self) -> float:
        """Seconds from an accepted B2C, status query or reversal to its result callback."""
        delay_ms = self.callback_delay_ms if self.result_delay_ms is None else self.result_delay_ms
        return delay_ms / 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        """Read ``environ`` (default ``os.environ``); unset or blank variables keep defaults."""
        env = os.environ if environ is None else environ
        default = cls()
        return cls(
            consumer_key=_text(env, "SANDBOX_CONSUMER_KEY", default.consumer_key),
            consumer_secret=_text(env, "SANDBOX_CONSUMER_SECRET", default.consumer_secret),
            shortcode=_text(env, "SANDBOX_SHORTCODE", default.shortcode),
            passkey=_text(env, "SANDBOX_PASSKEY", default.passkey),
            token_ttl_s=_integer(env, "SANDBOX_TOKEN_TTL_S", default.token_ttl_s),
            callback_delay_ms=_integer(env, "SANDBOX_CALLBACK_DELAY_MS", default.callback_delay_ms),
            latency_ms=_integer(env, "SANDBOX_LATENCY_MS", default.latency_ms),
            fault_rate=_number(env, "SANDBOX_FAULT_RATE", default.fault_rate),
            oauth_fault_rate=_number(env, "SANDBOX_OAUTH_FAULT_RATE", default.oauth_fault_rate),
            seed=_optional_integer(env, "SANDBOX_SEED"),
            query_pending_style=cast(
                QueryPendingStyle,
                _text(env, "SANDBOX_QUERY_PENDING_STYLE", default.query_pending_style),
            ),
            strict_callback_url=_flag(
                env, "SANDBOX_STRICT_CALLBACK_URL", default.strict_callback_url
            ),
            balance_mode=cast(
                BalanceMode, _text(env, "SANDBOX_BALANCE_MODE", default.balance_mode)
            ),
            b2c_shortcode=_text(env, "SANDBOX_B2C_SHORTCODE", default.b2c_shortcode),
            initiator_name=_text(env, "SANDBOX_INITIATOR_NAME", default.initiator_name),
            initiator_password=_text(
                env, "SANDBOX_INITIATOR_PASSWORD", default.initiator_password
            ),
            key_path=_raw(env, "SANDBOX_KEY_PATH"),
            cert_path=_raw(env, "SANDBOX_CERT_PATH"),
            result_delay_ms=_optional_integer(env, "SANDBOX_RESULT_DELAY_MS"),
        )


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    return _raw(env, name) or default


def _optional_integer(env: Mapping[str, str], name: str) -> int | None:
    value = _raw(env, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = _optional_integer(env, name)
    return default if value is None else value


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = _raw(env, name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = _raw(env, name)
    if value is None:
        return default
    if value.lower() in _TRUE_WORDS:
        return True
    if value.lower() in _FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be 0 or 1, got {value!r}")
