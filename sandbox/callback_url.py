"""CallBackURL acceptance: lenient (for local testing) or strict (like Daraja, daraja.md 3.1)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

BLOCKED_WORDS = ("mpesa", "m-pesa", "safaricom", "exe", "exec", "cmd", "sql", "query")
BLOCKED_HOST_PARTS = ("ngrok", "requestbin", "yourdomain", "your-domain")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
NON_PUBLIC_SUFFIXES = (
    "localhost",
    "local",
    "test",
    "invalid",
    "example",
    "internal",
    "lan",
    "home",
)
_FORBIDDEN_CHARACTERS = re.compile(r"[\s<>{}\"'|\\^`]")
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def is_acceptable_callback_url(value: str, strict: bool) -> bool:
    """Lenient: any syntactically valid http(s) URL. Strict: also https and public-looking."""
    parts = _parse(value)
    if parts is None or parts.hostname is None:
        return False
    if not strict:
        return parts.scheme in ("http", "https")
    return (
        parts.scheme == "https"
        and not any(word in value.lower() for word in BLOCKED_WORDS)
        and _is_public_host(parts.hostname)
    )


def _parse(value: str) -> SplitResult | None:
    if not value or _FORBIDDEN_CHARACTERS.search(value):
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return None
    return parts


def _is_public_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return _is_public_name(host)


def _is_public_name(host: str) -> bool:
    labels = host.split(".")
    return (
        len(labels) >= 2
        and all(_HOST_LABEL.fullmatch(label) for label in labels)
        and labels[-1].isalpha()
        and labels[-1] not in NON_PUBLIC_SUFFIXES
        and ".".join(labels[-2:]) not in RESERVED_DOMAINS
        and not any(part in host for part in BLOCKED_HOST_PARTS)
    )
