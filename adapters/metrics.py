"""Prometheus metrics of the business, counted where every process can see them.

The API, three worker pools and beat are separate processes, so nothing here lives in one
process's memory: the gauges are counted in MongoDB when Prometheus scrapes (bounded by
MONGO_TIMEOUT_S in all, so a scrape never hangs on a hung database), and the one counter that
happens in workers, alerts raised, is a Redis hash that ``SocketNotifier.alert`` increments. Any
API process serves the same numbers (docs/operations.md, "Metrics")."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pymongo
import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pymongo.database import Database
from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from adapters.mongo.client import Doc

log = logging.getLogger(__name__)

ALERTS_KEY = "metrics:alerts"  # Redis hash: alert message → how many times it was raised
STATUSES = ("queued", "pending", "success", "failed")
IN_FLIGHT = ("queued", "pending")
DISAGREEMENTS = ("contradicted", "mismatch")  # a callback against M-Pesa's own answer
BACKLOG_AFTER = timedelta(minutes=5)  # in flight longer than this: the sweeps' business
MAX_FLAGGED = 10_000  # flagged callbacks read per scrape at most


def count_alert(client: redis.Redis, message: str) -> None:
    """One more ``message`` alert; never raises (a lost count must not hide the alert)."""
    try:
        client.hincrby(ALERTS_KEY, message, 1)
    except RedisError:
        log.warning("alert not counted", extra={"alert_message": message})


class BusinessCollector(Collector):
    """The business's state, read at scrape time. ``escrow_business_metrics_up`` is 0 when
    MongoDB or Redis did not answer in time (the other metrics are then missing)."""

    def __init__(self, db: Database[Doc], client: redis.Redis, timeout_s: float) -> None:
        self._db, self._redis, self._timeout_s = db, client, timeout_s

    def collect(self) -> Iterator[Metric]:
        up = 1
        try:
            with pymongo.timeout(self._timeout_s):  # every query of this scrape, in all
                yield from self._from_mongo(datetime.now(UTC))
        except PyMongoError as error:
            log.warning("business metrics: MongoDB did not answer", extra={"error": str(error)})
            up = 0
        try:
            yield self._alerts()
        except RedisError as error:
            log.warning("business metrics: Redis did not answer", extra={"error": str(error)})
            up = 0
        yield GaugeMetricFamily("escrow_business_metrics_up",
                                "1 if MongoDB and Redis answered this scrape", value=up)

    def _from_mongo(self, now: datetime) -> Iterator[Metric]:
        payments = GaugeMetricFamily("escrow_payments", "Payments by status (outcome)",
                                     labels=["status"])
        payouts = GaugeMetricFamily("escrow_payouts", "Payouts by status", labels=["status"])
        counted = {status: self._db["payouts"].count_documents({"status": status})
                   for status in STATUSES}
        for status in STATUSES:
            payments.add_metric([status], self._db["payments"].count_documents({"status": status}))
            payouts.add_metric([status], counted[status])
        flagged = Counter(
            (doc.get("processed") or {}).get("outcome") or "unknown"
            for doc in self._db["mpesa_callbacks"].find(
                {"status": "flagged"}, projection={"processed": 1}).limit(MAX_FLAGGED))
        by_outcome = GaugeMetricFamily("escrow_flagged_callbacks",
                                       "Flagged callbacks (money did not move) by outcome",
                                       labels=["outcome"])
        for outcome, count in sorted(flagged.items()):
            by_outcome.add_metric([outcome], count)
        yield payments
        yield payouts
        yield by_outcome
        yield GaugeMetricFamily(
            "escrow_verification_disagreements",
            "Callbacks that M-Pesa's own answer contradicted (outcome contradicted or mismatch)",
            value=sum(flagged[outcome] for outcome in DISAGREEMENTS))
        yield GaugeMetricFamily("escrow_payouts_in_flight",
                                "Payouts reserved or sent, not yet resolved",
                                value=sum(counted[status] for status in IN_FLIGHT))
        yield self._backlog(now - BACKLOG_AFTER)

    def _backlog(self, before: datetime) -> Metric:
        backlog = GaugeMetricFamily(
            "escrow_reconciliation_backlog",
            "What the sweeps must still resolve: callbacks stored but not processed, payments "
            "and payouts in flight for over 5 minutes", labels=["kind"])
        backlog.add_metric(["callbacks"],
                           self._db["mpesa_callbacks"].count_documents({"status": "received"}))
        for kind in ("payments", "payouts"):
            backlog.add_metric([kind], sum(
                self._db[kind].count_documents({"status": s, "updatedAt": {"$lt": before}})
                for s in IN_FLIGHT))
        return backlog

    def _alerts(self) -> Metric:
        alerts = CounterMetricFamily("escrow_alerts", "Alerts raised, by message",
                                     labels=["alert"])
        for message, count in sorted(self._redis.hgetall(ALERTS_KEY).items()):
            alerts.add_metric([str(message)], int(count))
        return alerts
