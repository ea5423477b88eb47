"""Wiring: the real adapters behind the domain's ports, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import redis
import requests
from pymongo.database import Database
from requests.adapters import HTTPAdapter

from adapters.cached_users import CachedUsers
from adapters.daraja import DarajaClient
from adapters.emitter import SocketNotifier
from adapters.mongo.audit import MongoAudit
from adapters.mongo.callbacks import MongoCallbacks
from adapters.mongo.client import Doc, connect, ensure_indexes
from adapters.mongo.deals import MongoDeals
from adapters.mongo.ledger import MongoLedger
from adapters.mongo.notifications import MongoNotifications
from adapters.mongo.payments import MongoPayments
from adapters.mongo.payouts import MongoPayouts
from adapters.mongo.users import MongoUsers
from adapters.redis_store import LoginAttempts, Revocations, TokenCache
from adapters.redis_store import connect as connect_redis
from adapters.runtime import ObjectIdFactory, SystemClock
from adapters.security import Argon2Hasher
from adapters.settings import Settings
from domain.ports import TaskQueue
from domain.services.context import Context

HTTP_POOL_SIZE = 128  # at least the largest worker pool's threads (Procfile)


@dataclass(frozen=True)
class Container:
    settings: Settings
    db: Database[Doc]
    redis: redis.Redis
    ctx: Context
    ledger: MongoLedger
    callbacks: MongoCallbacks
    revocations: Revocations
    daraja: DarajaClient
    users: CachedUsers  # the same as ctx.users; its ``identity`` is the cached read
    login_attempts: LoginAttempts

    def gateway(self) -> DarajaClient:
        """One client per process: its HTTP connections and SecurityCredential are shared by
        every thread of the pool (the OAuth token is shared by every process, in Redis)."""
        return self.daraja

    def audit(self, write_timeout_s: float | None = None) -> MongoAudit:
        """The append-only audit trail (a handle on the collection: cheap to make); its writes
        wait ``write_timeout_s`` at most, or the client's own bound."""
        return MongoAudit(self.db, write_timeout_s=write_timeout_s)


def push_lost_after_s(settings: Settings) -> int:
    """Longer than the slowest push can take: twice (the second after an invalid-token answer)
    a wait for another worker's token fetch, a fetch and a send, each call up to the connect
    and read timeouts, plus a margin. (The threads pools enforce no task time limit: this sum
    is what bounds a push.)"""
    one_call = settings.mpesa_connect_timeout_s + settings.mpesa_read_timeout_s
    return int(2 * (TokenCache.LOCK_WAIT_S + 2 * one_call)) + 15


def build(settings: Settings, tasks: TaskQueue, create_indexes: bool = True) -> Container:
    db = connect(settings.mongo_url, settings.mongo_db, settings.mongo_timeout_s)
    if create_indexes:
        ensure_indexes(db)
    client = connect_redis(settings.redis_url, settings.redis_timeout_s)
    users = CachedUsers(MongoUsers(db), client)
    ledger = MongoLedger(db)
    ctx = Context(
        users=users, deals=MongoDeals(db), payments=MongoPayments(db), ledger=ledger,
        clock=SystemClock(), ids=ObjectIdFactory(), tasks=tasks,
        notifier=SocketNotifier(settings.redis_url, settings.socketio_channel,
                                settings.redis_timeout_s),
        hasher=Argon2Hasher(settings.argon2_profile), payouts=MongoPayouts(db),
        notifications=MongoNotifications(db),
        fee_rate_bps=settings.fee_rate_bps, stk_query_delays_s=settings.stk_query_delays_s,
        push_lost_after_s=push_lost_after_s(settings),
    )
    daraja = DarajaClient(settings, TokenCache(client, settings.mpesa_consumer_key),
                          pooled_session(HTTP_POOL_SIZE))
    revocations = Revocations(client, channel=f"{settings.socketio_channel}:revocations")
    attempts = LoginAttempts(client, settings.login_lock_threshold,
                             settings.login_lock_minutes * 60)
    return Container(settings, db, client, ctx, ledger, MongoCallbacks(db), revocations,
                     daraja, users, attempts)


def pooled_session(size: int) -> requests.Session:
    """A requests session that keeps up to ``size`` connections to Daraja open, so a pool of
    that many threads never waits for a connection nor opens one per call."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # no state across calls
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, pool_block=False)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
