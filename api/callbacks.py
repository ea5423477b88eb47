"""M-Pesa's callbacks: check the path token, store the raw body durably, enqueue, answer 200."""

from __future__ import annotations

import hmac
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


@blp.post("/stk/callback/<token>")
@limiter.exempt
def stk_callback(token: str) -> ResponseReturnValue:
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
    stored = c.callbacks.store("stk", raw, request.remote_addr, c.ctx.clock.now())
    if not stored.duplicate or stored.item.status == "received":
        try:
            broker().process_stk_callback(stored.item.id)
        except Exception:  # stored durably: the janitor re-enqueues what was not processed
            log.exception("could not enqueue a stored callback", extra={"callback": stored.item.id})
    return jsonify(ACCEPTED), 200
