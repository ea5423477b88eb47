"""The audit trail's hooks: every admin request and every refused one lands in ``audit``.

An admin's write (any method but GET, HEAD, OPTIONS) is recorded as ``attempted`` before its
view runs; if that record cannot be written the action does not run and the answer is 503.
After the answer, a record with the outcome is written for admins' requests, every 401 and
403, and a callback with a wrong path token (answered 404). Those writes are best effort and
bounded: a slow MongoDB costs a refusal ``REFUSAL_WRITE_S`` at most, then a log line; and
refusals are recorded ``REFUSALS_PER_S`` a second at most per client address and
``TOTAL_REFUSALS_PER_S`` for all together, per process (admins' always).
Never recorded: tokens, passwords, bodies, full paths of callbacks, phone numbers."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue
from flask_jwt_extended import decode_token, get_jwt

from adapters.observability import MSISDN, mask_phones
from api.deps import container
from api.envelope import error
from api.errors import RETRY_AFTER_S
from domain.audit import (
    ANONYMOUS,
    MAX_USER_AGENT,
    Actor,
    AuditOutcome,
    AuditRecord,
    clipped,
    outcome_of,
)

log = logging.getLogger(__name__)

REFUSAL_WRITE_S = 0.5  # the most a refused (or an admin's read) request waits for its record
# Refusals are written at most this fast per client address (callbacks are not rate limited,
# and a flood of bad tokens must not become a flood of inserts), and at most TOTAL_* for all
# addresses together; the rest are counted in a log line. Per address, so that one source
# flooding does not silence the audit of the others.
REFUSALS_PER_S, REFUSAL_BURST = 20.0, 40
TOTAL_REFUSALS_PER_S, TOTAL_REFUSAL_BURST = 200.0, 400
MAX_SOURCES = 10_000  # addresses whose buckets are kept (the least recently seen forgotten)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CALLBACKS = "mpesa"  # the callbacks' blueprint: a 404 on a matched route is a wrong token
ID_ARGS = ("deal_id", "payment_id", "payout_id", "notification_id")
SOCKET_CONNECT, SOCKET_PATH = "socketio.connect", "/socket.io/"


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens, self.at = tokens, at

    def refill(self, now: float, rate: float, burst: float) -> bool:
        """Whether a token is there (not taken)."""
        self.tokens = min(burst, self.tokens + (now - self.at) * rate)
        self.at = now
        return self.tokens >= 1


class RefusalBudget:
    """Token buckets: ``rate`` records a second and ``burst`` at once per source (a client
    address), at most ``max_sources`` buckets kept (least recently seen forgotten: it starts
    afresh), and ``total_rate``/``total_burst`` for all sources together. What it refuses is
    counted, and logged once a second at most with the number of sources refused."""

    def __init__(self, rate: float, burst: int, max_sources: int = MAX_SOURCES,
                 total_rate: float = TOTAL_REFUSALS_PER_S,
                 total_burst: int = TOTAL_REFUSAL_BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._max = rate, float(burst), max_sources
        self._total_rate, self._total_burst = total_rate, float(total_burst)
        self._clock = clock
        self._buckets: OrderedDict[str | None, _Bucket] = OrderedDict()
        self._total = _Bucket(float(total_burst), clock())
        self._skipped, self._reported_at = 0, 0.0
        self._skipped_sources: set[str | None] = set()
        self._lock = threading.Lock()

    @property
    def sources(self) -> int:
        return len(self._buckets)

    def take(self, source: str | None) -> bool:
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(source)
            if bucket is None:
                bucket = self._buckets[source] = _Bucket(self._burst, now)
                if len(self._buckets) > self._max:
                    self._buckets.popitem(last=False)
            else:
                self._buckets.move_to_end(source)
            mine = bucket.refill(now, self._rate, self._burst)
            overall = self._total.refill(now, self._total_rate, self._total_burst)
            if mine and overall:
                bucket.tokens -= 1
                self._total.tokens -= 1
                return True
            self._skipped += 1
            self._skipped_sources.add(source)
            if now - self._reported_at >= 1.0:
                log.warning("audit records of refusals not written: over the budget",
                            extra={"skipped": self._skipped,
                                   "sources": len(self._skipped_sources),
                                   "per_s": self._rate, "total_per_s": self._total_rate})
                self._skipped, self._reported_at = 0, now
                self._skipped_sources.clear()
            return False


_budget = RefusalBudget(REFUSALS_PER_S, REFUSAL_BURST)


def init(app: Flask) -> None:
    app.before_request(_before_admin_write)
    app.after_request(_after)


def _before_admin_write() -> ResponseReturnValue | None:
    """An admin's write is on record before it runs, or it does not run."""
    if request.method in SAFE_METHODS or request.url_rule is None:
        return None
    claims = _presented_claims()
    if claims.get("role") != "admin":
        return None
    actor = Actor(str(claims.get("sub")), "admin")
    try:
        container().audit().insert(_record(actor, AuditOutcome.ATTEMPTED, None, None))
    except Exception as exc:  # any failure to record refuses the action
        log.error("audit record not written: the admin action is refused", extra={
            "request_id": g.get("request_id"), "error": type(exc).__name__})
        resp, code = error(503, "SERVICE_UNAVAILABLE",
                           "the action could not be recorded in the audit trail; nothing was done")
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp, code
    g.audit_attempted = True
    return None


def _after(response: Response) -> Response:
    try:
        _record_answer(response)
    except Exception as exc:  # the audit never changes an answer
        log.warning("audit record not written", extra={
            "request_id": g.get("request_id"), "status": response.status_code,
            "error": type(exc).__name__})
    return response


def _record_answer(response: Response) -> None:
    status = response.status_code
    wrong_token = (request.blueprint == CALLBACKS and request.url_rule is not None
                   and status == 404)
    actor = _verified_actor()
    admins = actor.role == "admin" or g.get("audit_attempted")
    if not (admins or status in (401, 403) or wrong_token):
        return
    if not admins and not _budget.take(request.remote_addr):
        return
    code = None
    if status >= 400 and response.is_json:
        code = ((response.get_json(silent=True) or {}).get("error") or {}).get("code")
    record = _record(actor, outcome_of(status, wrong_token), status, code)
    container().audit(REFUSAL_WRITE_S).insert(record)


def refusals_recorded(connect: Callable[..., bool]) -> Callable[..., bool]:
    """For the Socket.IO connect handler: a refused connect is recorded."""

    @functools.wraps(connect)
    def handler(*args: Any) -> bool:
        accepted = connect(*args)
        if not accepted:
            refused_connect()
        return accepted

    return handler


def refused_connect() -> None:
    """A Socket.IO connect refused (no, a bad or a revoked token): recorded as the 401 it
    amounts to, best effort, like any refusal."""
    if not _budget.take(request.remote_addr):
        return
    try:
        record = _record(ANONYMOUS, AuditOutcome.REFUSED, 401, "UNAUTHORIZED",
                         action=SOCKET_CONNECT, path=SOCKET_PATH)
        container().audit(REFUSAL_WRITE_S).insert(record)
    except Exception as exc:  # the audit never changes an answer
        log.warning("audit record not written", extra={
            "action": SOCKET_CONNECT, "error": type(exc).__name__})


def _record(actor: Actor, outcome: AuditOutcome, status: int | None, code: str | None,
            action: str | None = None, path: str | None = None) -> AuditRecord:
    c = container()
    args = request.view_args or {}
    object_id = next((str(args[name]) for name in ID_ARGS if name in args), None)
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    return AuditRecord(
        id=c.ctx.ids.new_id(), at=c.ctx.clock.now(), actor=actor,
        action=clipped(action or request.endpoint or "<unmatched>"), method=request.method,
        path=clipped(path or rule),
        # Both are whatever the client sent: a phone number typed in either is masked (the id
        # only when it is one as a whole: an ObjectId may hold nine digits in a row).
        object_id=clipped(_masked_id(object_id)) if object_id else None, ip=request.remote_addr,
        user_agent=clipped(mask_phones(request.user_agent.string), MAX_USER_AGENT),
        outcome=outcome, status=status, error_code=code, request_id=g.get("request_id"))


def _masked_id(value: str) -> str:
    return mask_phones(value) if MSISDN.fullmatch(value) else value


def _verified_actor() -> Actor:
    """Whom the request's token, once the view verified it, names; else anonymous."""
    try:
        claims = get_jwt()
    except RuntimeError:  # no view verified a token: none came, or it was refused
        return ANONYMOUS
    if not claims:
        return ANONYMOUS
    return Actor(str(claims.get("sub")), str(claims.get("role") or "unknown"))


def _presented_claims() -> dict[str, Any]:
    """The claims of the Bearer access token presented, if it is well signed and unexpired.
    Only to decide whether to record an attempt: the view still verifies the token itself."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token:
        return {}
    try:
        claims = decode_token(token.strip())
    except Exception:  # forged, expired, not a token: the view refuses it with a 401
        return {}
    return claims if claims.get("type") == "access" else {}
