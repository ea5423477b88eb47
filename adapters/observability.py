"""JSON logs with request, deal and task ids; Sentry with secrets and phone numbers scrubbed."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import sentry_sdk
import structlog
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from adapters.settings import Settings

MSISDN = re.compile(r"(?<!\d)(?:\+?254|0)?([71]\d{2})\d{3}(\d{3})(?!\d)")
SECRET_KEYS = [
    "phone", "phone_number", "msisdn", "phonenumber", "partya", "partyb", "access_token",
    "refresh_token", "accesstoken", "refreshtoken", "securitycredential", "initiatorpassword",
    "consumer_key", "consumer_secret", "passkey", "password", "passwordhash", "authorization",
]


def mask_phones(text: str) -> str:
    """Replace anything that looks like a Kenyan mobile number by ``2547****678``."""
    return MSISDN.sub(lambda m: f"254{m.group(1)[0]}****{m.group(2)}", text)


def _mask_event(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = mask_phones(value)
    return event


def configure_logging(level: str = "INFO") -> None:
    """One JSON line per event, for our logs and for gunicorn's, Celery's and werkzeug's."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _mask_event,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.JSONRenderer()],
        foreign_pre_chain=shared,
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _mask_all(value: Any) -> Any:
    """Every string anywhere in an event: messages, exception values, frame locals, breadcrumbs."""
    if isinstance(value, str):
        return mask_phones(value)
    if isinstance(value, dict):
        return {key: _mask_all(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_mask_all(inner) for inner in value]
    return value


def _scrub_event(event: Any, _hint: Any) -> Any:
    return _mask_all(event)


def init_sentry(settings: Settings, *integrations: Any) -> bool:
    """Start Sentry if a DSN is set; nothing is sent otherwise."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.app_env,
        release=settings.release,
        send_default_pii=False,
        traces_sample_rate=0.0,
        event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + SECRET_KEYS, recursive=True),
        before_send=_scrub_event,
        before_breadcrumb=_scrub_event,
        integrations=list(integrations),
    )
    return True
