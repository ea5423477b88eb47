"""The API's Prometheus metrics: request latency and count by endpoint and status, plus the
business's (adapters/metrics.py), served on their own port, never on the API's.

``METRICS_PORT`` unset or 0: no metrics server. Set: an HTTP server on ``METRICS_ADDR``
(loopback by default) in each API process, started by gunicorn's ``post_worker_init``
(gunicorn.conf.py), never by ``create_app`` (the CLI and the tests build apps too)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram, start_http_server

from adapters.metrics import BusinessCollector
from api.deps import container

log = logging.getLogger(__name__)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
# A method is whatever token the client sent (gunicorn takes up to 20 characters): any other
# is counted as OTHER, or each would be a new series.
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
UNMATCHED = "unmatched"


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


def init(app: Flask) -> None:
    """Time every request; its endpoint is the URL rule (``/api/transactions/<deal_id>``), never
    the path: no ids, no callback token; ``unmatched`` when no rule took the request (404, or
    405: a method the rule does not have); its method one of ``METHODS`` or ``OTHER``. A
    bounded set of label values, whatever clients send."""
    registry = CollectorRegistry()
    latency = Histogram("escrow_http_request_duration_seconds",
                        "API requests: latency by method, endpoint and status",
                        ["method", "endpoint", "status"], buckets=BUCKETS, registry=registry)
    app.extensions["escrow_metrics"] = registry

    @app.before_request
    def _start() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            rule = request.url_rule.rule if request.url_rule else UNMATCHED
            latency.labels(method_label(request.method), rule, str(response.status_code)).observe(
                time.perf_counter() - started)
        return response


def serve(app: Flask) -> int | None:
    """Start the metrics server of this process if METRICS_PORT is set; its port, or None."""
    settings = app.extensions["escrow"].settings
    if not settings.metrics_port:
        return None
    registry: CollectorRegistry = app.extensions["escrow_metrics"]
    with app.app_context():
        c = container()
        registry.register(BusinessCollector(c.db, c.redis, settings.mongo_timeout_s))
    where = {"port": settings.metrics_port, "addr": settings.metrics_addr}
    try:
        start_http_server(settings.metrics_port, settings.metrics_addr, registry=registry)
    except OSError:  # taken (a second API process on this machine, a worker still exiting)
        log.exception("metrics not served: the port is taken", extra=where)
        return None
    log.info("metrics served", extra=where)
    return int(settings.metrics_port)
