"""Prometheus metrics: never on the API's port; on METRICS_PORT, the API's requests by endpoint
and status and the business's figures, counted across every process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.services import free_port, wait_for_http
from tests.e2e.test_forged_with_a_valid_token import CANCELLING_PHONE, _post, _stk_success
from tests.helpers import Api, database, open_deal, pay, register, wait_for_payment, wait_until
from tests.stack import BIN, ROOT, Stack

CONTRADICTED = "an STK callback contradicts M-Pesa's own answer"


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(url, timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_metrics_are_not_served_on_the_apis_port(stack: Stack) -> None:
    assert requests.get(f"{stack.api}/metrics", timeout=5).status_code == 404
    assert requests.get(f"{stack.api}/api/metrics", timeout=5).status_code == 404


@pytest.fixture(scope="module")
def metrics_api(stack: Stack) -> Iterator[tuple[str, str]]:
    """One API process (gunicorn, as deployed) with METRICS_PORT set: its base URL and its
    metrics URL."""
    api_port, metrics_port = str(free_port()), str(free_port())
    name = f"api-metrics-{uuid.uuid4().hex[:6]}"
    stack.start(name, [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "1",
                       "--threads", "8", "-b", f"127.0.0.1:{api_port}", "wsgi:app"],
                extra_env={"METRICS_PORT": metrics_port})
    try:
        base = f"http://127.0.0.1:{api_port}"
        wait_for_http(f"{base}/api/health", timeout=60)
        yield base, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        stack.stop(name)


def test_metrics_on_their_own_port_count_requests_and_the_business(
    stack: Stack, metrics_api: tuple[str, str],
) -> None:
    base, metrics = metrics_api
    assert requests.get(f"{base}/metrics", timeout=5).status_code == 404
    # A paid deal through this API process (callbacks reach the stack's own API).
    buyer, seller = register(stack, "buyer"), register(stack, "seller")
    here = Api(base, buyer.token, buyer.user)
    deal = open_deal(here, seller)
    paid = pay(here, deal["id"], "254708374149")
    assert paid.status_code == 202
    wait_for_payment(here, paid.json()["data"]["id"], "success")
    # And a forgery that M-Pesa's own answer contradicts: flagged, alerted in a worker.
    cancelled = pay(buyer, open_deal(buyer, seller)["id"], CANCELLING_PHONE).json()["data"]
    pushed = wait_until(lambda: database(stack).payments.find_one(
        {"_id": cancelled["id"], "checkoutRequestId": {"$exists": True}}), what="the push")
    _post(stack, "stk/callback", _stk_success(pushed["checkoutRequestId"], 1500,
                                              CANCELLING_PHONE, "SKE" + uuid.uuid4().hex[:7]))

    def scraped() -> dict[Any, float] | None:
        samples = _samples(metrics)
        return samples if (_value(samples, "escrow_alerts_total", alert=CONTRADICTED) or 0) \
            >= 1 and (_value(samples, "escrow_payments", status="failed") or 0) >= 1 else None

    samples = wait_until(scraped, timeout=30, every=0.5, what="the forgery's alert counted")
    requests_seen = {k: v for k, v in samples.items()
                     if k[0] == "escrow_http_request_duration_seconds_count"}
    assert _value(samples, "escrow_http_request_duration_seconds_count", method="POST",
                  endpoint="/api/transactions/<deal_id>/pay", status="202") == 1, requests_seen
    assert (_value(samples, "escrow_http_request_duration_seconds_count", method="GET",
                   endpoint="/api/payments/<payment_id>", status="200") or 0) >= 1
    assert _value(samples, "escrow_business_metrics_up") == 1
    assert (_value(samples, "escrow_payments", status="success") or 0) >= 1
    flagged = {k: v for k, v in samples.items() if k[0] == "escrow_flagged_callbacks"}
    assert (_value(samples, "escrow_flagged_callbacks", outcome="contradicted") or 0) >= 1, flagged
    assert (_value(samples, "escrow_verification_disagreements") or 0) >= 1, flagged
    assert _value(samples, "escrow_payouts_in_flight") is not None
    assert _value(samples, "escrow_reconciliation_backlog", kind="callbacks") is not None
    # The alert's own log line, JSON with "alert": true, in the worker that raised it.
    alerts = [line for name in list(stack.processes) if name.startswith("worker")
              for line in stack.log(name).read_text().splitlines()
              if CONTRADICTED in line and '"alert": true' in line]
    assert alerts, "no alert line in any worker's log"


def test_request_labels_are_a_fixed_set_whatever_the_client_sends(
    stack: Stack, metrics_api: tuple[str, str],
) -> None:
    """Any token of up to 20 characters is a method to gunicorn: each would be a new series.
    Methods outside the standard seven count as OTHER; endpoints are URL rules or
    ``unmatched``, never a path as sent."""
    from adapters.settings import Settings
    from api import create_app

    base, metrics = metrics_api
    odd = [f"X{uuid.uuid4().hex[:12].upper()}" for _ in range(3)] + ["PROPFIND", "BREW"]
    for method in odd:
        answered = requests.request(method, f"{base}/api/health", timeout=10)
        assert answered.status_code == 405, (method, answered.status_code)  # reached Flask
    marker = uuid.uuid4().hex
    assert requests.get(f"{base}/api/nothing-here-{marker}", timeout=10).status_code == 404
    assert requests.request("XNOPE", f"{base}/api/{marker}", timeout=10).status_code == 404
    assert requests.get(f"{base}/api/transactions/{marker}", timeout=10).status_code == 401
    assert requests.options(f"{base}/api/health", timeout=10).ok
    assert requests.head(f"{base}/api/health", timeout=10).ok
    seen = [dict(labels) for (name, labels) in _samples(metrics)
            if name == "escrow_http_request_duration_seconds_count"]
    methods = {labels["method"] for labels in seen}
    assert methods <= {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"}, \
        methods
    assert {"OTHER", "GET", "HEAD", "OPTIONS"} <= methods
    app = create_app(Settings(app_env="test", mongo_url=stack.env["MONGO_URL"],
                              mongo_db=stack.env["MONGO_DB"], redis_url=stack.env["REDIS_URL"],
                              mpesa_callback_token=stack.callback_token))
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    endpoints = {labels["endpoint"] for labels in seen}
    assert endpoints <= rules | {"unmatched"}, endpoints - rules
    assert {"unmatched", "/api/health", "/api/transactions/<deal_id>"} <= endpoints
    other = [labels for labels in seen if labels["method"] == "OTHER"]
    assert {(labels["endpoint"], labels["status"]) for labels in other} == {
        ("unmatched", "405"), ("unmatched", "404")}
