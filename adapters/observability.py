"""JSON logs with request, deal and task ids; Sentry with secrets and phone numbers scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import sentry_sdk
import structlog
from sentry_sdk._types import AnnotatedValue  # what EventScrubber substitutes
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from adapters.settings import Settings

# A Kenyan mobile number set off by anything but a letter or a digit: digits inside an id (a
# request id, an ObjectId) are part of the id, which must stay whole to be followed.
MSISDN = re.compile(r"(?<![0-9A-Za-z])(?:\+?254|0)?([71]\d{2})\d{3}(\d{3})(?![0-9A-Za-z])")
# The last segment of a callback path is MPESA_CALLBACK_TOKEN (or somebody's guess at it).
CALLBACK_PATH = re.compile(r"(/api/mpesa/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+/)[^/?#\s\"'<>]+")
REDACTED = "[redacted]"
# A JWT (header.payload.signature, each base64url; the header always starts "eyJ"): an access
# or refresh token pasted into a URL, an error message or a log parameter.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")
MIN_SECRET = 8  # shorter values would redact ordinary words
_SECRETS: set[str] = set()
SECRET_KEYS = [
    "phone", "phone_number", "msisdn", "phonenumber", "partya", "partyb", "access_token",
    "refresh_token", "accesstoken", "refreshtoken", "securitycredential", "initiatorpassword",
    "consumer_key", "consumer_secret", "passkey", "password", "passwordhash", "authorization",
]
# A key whose lowercased name contains any of these is a secret wherever it appears (request
# bodies, extra, breadcrumbs, frame locals, log fields): ``newPassword``, ``clientSecret``,
# ``refreshTokenValue``, ``SecurityCredential``... Sentry's own denylist matches whole names.
SECRET_KEY_PARTS = ("password", "secret", "token", "passkey", "credential", "authorization")


def is_secret_key(key: object) -> bool:
    """Whether a field of this name holds a secret (its value is never written)."""
    return isinstance(key, str) and any(part in key.lower() for part in SECRET_KEY_PARTS)


def mask_phones(text: str) -> str:
    """Replace anything that looks like a Kenyan mobile number by ``2547****678``."""
    return MSISDN.sub(lambda m: f"254{m.group(1)[0]}****{m.group(2)}", text)


def secret_values(settings: Settings) -> tuple[str, ...]:
    """The configured values that must never be written anywhere."""
    values = (settings.mpesa_callback_token, settings.jwt_secret_key,
              settings.mpesa_consumer_secret, settings.mpesa_passkey,
              settings.mpesa_initiator_password, settings.mpesa_security_credential)
    return tuple(value for value in values if value)


def remember_secrets(values: Iterable[str]) -> None:
    """Redact these values (and their URL-encoded forms) from every log line and event."""
    for value in values:
        if value and len(value) >= MIN_SECRET:
            _SECRETS.update({value, quote(value, safe="")})


def scrub(text: str) -> str:
    """Callback paths' tokens, JWTs, known secrets and phone numbers out of ``text``."""
    text = CALLBACK_PATH.sub(lambda m: m.group(1) + REDACTED, text)
    text = JWT.sub(REDACTED, text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return mask_phones(text)


def _mask_event(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    return {key: REDACTED if is_secret_key(key) else _mask_all(value)
            for key, value in event.items()}


class _ScrubRecords(logging.Filter):
    """For loggers with handlers of their own (gunicorn's access and error logs): the message
    and any traceback are scrubbed before a handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


OWN_HANDLER_LOGGERS = ("gunicorn.access", "gunicorn.error")


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,  # request_id; task_id and task in a task
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _mask_event,
    ]


def json_formatter() -> logging.Formatter:
    """One JSON object per stdlib record: its message, its ``extra=`` fields (``"alert": true``
    among them), the bound request and task ids, everything scrubbed (``_mask_event`` last)."""
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
    )


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """One JSON line per event, for our logs and for gunicorn's, Celery's and werkzeug's; the
    callback token (in any callback path), ``secrets`` and phone numbers scrubbed from each."""
    remember_secrets(secrets)
    for name in OWN_HANDLER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubRecords) for f in logger.filters):
            logger.addFilter(_ScrubRecords())
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _mask_all(value: Any) -> Any:
    """Every string anywhere in an event: messages and their parameters, exception values,
    frame locals, request URLs, breadcrumbs (keys too)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {_mask_all(key): REDACTED if is_secret_key(key) else _mask_all(inner)
                for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_all(inner) for inner in value]
    return value


class _KeyScrubber(EventScrubber):
    """Sentry's scrubber (request data and headers, extra, user, breadcrumbs' data, frames'
    vars, spans), matching a key by name as Sentry does and also by ``is_secret_key``."""

    def scrub_dict(self, d: object) -> None:
        if not isinstance(d, dict):
            return
        for key, value in d.items():
            if isinstance(key, str) and (key.lower() in self.denylist or is_secret_key(key)):
                d[key] = AnnotatedValue.substituted_because_contains_sensitive_data()
            elif self.recursive:
                self.scrub_dict(value)
                self.scrub_list(value)


def _scrub_event(event: Any, _hint: Any) -> Any:
    """Last pass over an event or a breadcrumb: secret-named keys' values (wherever the
    scrubber does not look) and secrets, JWTs and phone numbers in every string."""
    return _mask_all(event)


def init_sentry(settings: Settings, *integrations: Any) -> bool:
    """Start Sentry if a DSN is set; nothing is sent otherwise. Either way the settings'
    secrets are remembered for scrubbing (logs too)."""
    remember_secrets(secret_values(settings))
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.app_env,
        release=settings.release,
        send_default_pii=False,
        traces_sample_rate=0.0,
        event_scrubber=_KeyScrubber(denylist=DEFAULT_DENYLIST + SECRET_KEYS, recursive=True),
        before_send=_scrub_event,
        before_breadcrumb=_scrub_event,
        integrations=list(integrations),
    )
    return True
