"""Connecting to MongoDB and declaring every index in one place."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pymongo
from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError

from adapters.settings import Settings

Doc = dict[str, Any]  # a BSON document as pymongo returns it

STRING = {"$type": "string"}

INDEXES: dict[str, list[IndexModel]] = {
    "users": [IndexModel([("email", ASCENDING)], unique=True, name="email_unique")],
    "deals": [
        IndexModel([("buyerId", ASCENDING), ("createdAt", DESCENDING)], name="buyer_recent"),
        IndexModel([("sellerId", ASCENDING), ("createdAt", DESCENDING)], name="seller_recent"),
        IndexModel([("status", ASCENDING), ("dueDate", ASCENDING)], name="status_due"),
        IndexModel([("status", ASCENDING), ("inspectionEndsAt", ASCENDING)],
                   name="status_inspection"),
        IndexModel([("settlementPosted", ASCENDING), ("updatedAt", ASCENDING)],
                   name="settlement_unposted"),
    ],
    "deal_events": [
        IndexModel([("dealId", ASCENDING), ("seq", ASCENDING)], unique=True,
                   name="deal_seq_unique"),
    ],
    "payments": [
        IndexModel([("payerId", ASCENDING), ("idempotencyKey", ASCENDING)], unique=True,
                   name="payer_idempotency_unique"),
        IndexModel([("checkoutRequestId", ASCENDING)], unique=True, name="checkout_unique",
                   partialFilterExpression={"checkoutRequestId": STRING}),
        IndexModel([("receipt", ASCENDING)], unique=True, name="receipt_unique",
                   partialFilterExpression={"receipt": STRING}),
        # At most one open (queued or pending) attempt per deal.
        IndexModel([("openFor", ASCENDING)], unique=True, name="one_open_per_deal",
                   partialFilterExpression={"openFor": STRING}),
        IndexModel([("dealId", ASCENDING), ("createdAt", ASCENDING)], name="deal_payments"),
        IndexModel([("phone", ASCENDING), ("status", ASCENDING)], name="phone_status"),
        IndexModel([("status", ASCENDING), ("nextCheckAt", ASCENDING)], name="status_next_check"),
        IndexModel([("status", ASCENDING), ("updatedAt", ASCENDING)], name="status_age"),
        IndexModel([("finished", ASCENDING), ("updatedAt", ASCENDING)], name="unfinished"),
    ],
    "payouts": [
        IndexModel([("userId", ASCENDING), ("idempotencyKey", ASCENDING)], unique=True,
                   name="user_idempotency_unique"),
        IndexModel([("originatorConversationId", ASCENDING)], unique=True,
                   name="originator_unique"),
        IndexModel([("status", ASCENDING), ("updatedAt", ASCENDING)], name="status_age"),
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_recent"),
    ],
    # One document per Transaction Status query we sent: inserts never lose a concurrent one.
    "payout_status_queries": [
        IndexModel([("payoutId", ASCENDING)], name="payout_queries"),
    ],
    "notifications": [
        IndexModel([("userId", ASCENDING), ("createdAt", DESCENDING)], name="user_recent"),
        IndexModel([("userId", ASCENDING), ("read", ASCENDING)], name="user_unread"),
    ],
    "postings": [
        IndexModel([("accounts", ASCENDING), ("createdAt", DESCENDING)], name="account_recent"),
        IndexModel([("accounts", ASCENDING), ("kind", ASCENDING)], name="account_kind"),
        IndexModel([("dealId", ASCENDING)], name="deal_postings"),
    ],
    "mpesa_callbacks": [
        IndexModel([("status", ASCENDING), ("receivedAt", ASCENDING)], name="status_age"),
    ],
    # Append-only (adapters/mongo/audit.py): read newest first, by actor, outcome or action.
    "audit": [
        IndexModel([("at", DESCENDING)], name="recent"),
        IndexModel([("actorId", ASCENDING), ("at", DESCENDING)], name="actor_recent"),
        IndexModel([("outcome", ASCENDING), ("at", DESCENDING)], name="outcome_recent"),
        IndexModel([("action", ASCENDING), ("at", DESCENDING)], name="action_recent"),
    ],
}


DEFAULT_TIMEOUT_S = Settings.mongo_timeout_s  # the most one operation may take, in all
MONITOR_TIMEOUT_MS = 5_000  # the background monitor's connection and heartbeat, never a request's
INDEX_BUILD_TIMEOUT_S = 600  # building an index on a large collection takes long, once
STARTUP_REACH_S = 30.0  # how long a starting process waits for MongoDB to answer at all


def connect(url: str, db_name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Database[Doc]:
    """A database handle; datetimes come back timezone-aware (UTC).

    Every operation is bounded by ``timeout_s`` in all: server selection, taking or opening a
    connection, the round trip and pymongo's own retry (``timeoutMS``, client-side operation
    timeout). A hung or unreachable server fails the call with a timeout error
    (``exc.timeout`` true) instead of holding the caller. Options in ``url`` win."""
    options: dict[str, Any] = {"timeoutMS": int(timeout_s * 1000),
                               "connectTimeoutMS": MONITOR_TIMEOUT_MS}
    given = {key.lower() for key in parse_qs(urlsplit(url).query)}
    client: MongoClient[Doc] = MongoClient(
        url, tz_aware=True, appname="escrow",
        **{key: value for key, value in options.items() if key.lower() not in given},
    )
    return client[db_name]


def ensure_indexes(db: Database[Doc], reach_within_s: float = STARTUP_REACH_S) -> None:
    """Create every declared index. MongoDB must answer within ``reach_within_s`` first: the
    long index timeout covers finding a server too, so a process started while MongoDB is down
    would otherwise wait ten minutes before it said anything. It stops instead, naming the
    servers (never the URL, which may hold a password); its supervisor starts it again."""
    try:
        with pymongo.timeout(reach_within_s):
            db.command("ping")
    except PyMongoError as error:
        servers = ", ".join(f"{host}:{port}" for host, port in
                            db.client.topology_description.server_descriptions())
        raise SystemExit(f"MongoDB at {servers} did not answer within {reach_within_s:g} s: "
                         f"{type(error).__name__}") from None
    with pymongo.timeout(INDEX_BUILD_TIMEOUT_S):
        for collection, models in INDEXES.items():
            db[collection].create_indexes(models)
