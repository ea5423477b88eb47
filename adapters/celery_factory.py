"""Building a Celery app from Settings, with no module-level state."""

from __future__ import annotations

from celery import Celery

import celeryconfig
from adapters.settings import Settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("escrow")
    app.config_from_object(celeryconfig)
    app.conf.broker_url = settings.redis_url
    # kombu waits on a hung Redis for ever by default, and retries a refused connection for
    # seconds before a publish: every broker call (a publish, a connection, the readiness
    # check) is one try bounded by REDIS_TIMEOUT_S instead (an enqueue that fails is left to
    # the janitor). Workers wait for tasks in kombu's event loop, which these timeouts do not
    # touch, and reconnect by broker_connection_max_retries, which they do not change.
    app.conf.broker_transport_options = {
        **celeryconfig.broker_transport_options,
        "socket_timeout": settings.redis_timeout_s,
        "socket_connect_timeout": settings.redis_timeout_s,
        "max_retries": 0,
    }
    app.conf.broker_connection_timeout = settings.redis_timeout_s
    return app
