"""M-Pesa's callbacks: check the path token, store the raw body durably, enqueue, answer 200."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from api.deps import broker, container
from api.envelope import error
from api.limits import limiter

log = logging.getLogger(__name__)

blp = Blueprint("mpesa", __name__, url_prefix="/api/mpesa")
MAX_CALLBACK_BYTES = 64 * 1024
ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
ROUTES = {  # path → the kind the worker dispatches on
    "/stk/callback/<token>": "stk",
    "/b2c/result/<token>": "b2c_result",
    "/b2c/timeout/<token>": "b2c_timeout",
    "/status/result/<token>": "status_result",
    "/status/timeout/<token>": "status_timeout",
}


def receive(kind: str, token: str) -> ResponseReturnValue:
    c = container()
    if not hmac.compare_digest(token.encode(), c.settings.mpesa_callback_token.encode()):
        return error(404, "NOT_FOUND", "not found")
    if (request.content_length or 0) > MAX_CALLBACK_BYTES:
        return error(413, "PAYLOAD_TOO_LARGE", "callback body too large")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_CALLBACK_BYTES:
        return error(413, "PAYLOAD_TOO_LARGE", "callback body too large")
    try:
        json.loads(raw)
    except ValueError:
        return error(400, "BAD_REQUEST", "the body is not JSON")
    source = request.remote_addr  # the socket's, or the trusted proxy's (TRUSTED_PROXY_HOPS)
    if not c.settings.mpesa_callback_allow_any_source \
            and not _allowed(source, c.settings.mpesa_callback_allowed_ips):
        # Kept as evidence and flagged for an operator, never processed.
        c.callbacks.store(kind, raw, source, c.ctx.clock.now(), refused="source_not_allowed")
        log.warning("callback from an address not on the allow-list", extra={"source": source})
        return error(403, "FORBIDDEN", "this address may not send callbacks")
    # A body refused earlier for its source comes back "received" here: it is processed now.
    # Stored durably before we answer: a Mongo that cannot take it makes this a 503 (never
    # a 200 for a callback we do not hold). Then enqueued, waiting for Redis one timeout at
    # most: whatever Redis does, the answer is 200, and the janitor enqueues what was not.
    stored = c.callbacks.store(kind, raw, source, c.ctx.clock.now())
    if not stored.duplicate or stored.item.status == "received":
        broker().process_callback_within(stored.item.id, c.settings.redis_timeout_s)
    return jsonify(ACCEPTED), 200


def _allowed(source: str | None, allow: tuple[str, ...]) -> bool:
    if not allow:
        return True
    try:
        address = ipaddress.ip_address(source or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allow)


for _path, _kind in ROUTES.items():
    blp.add_url_rule(_path, f"receive_{_kind}", limiter.exempt(
        lambda token, kind=_kind: receive(kind, token)), methods=["POST"])
