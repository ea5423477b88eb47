"""Building a Celery app from Settings, with no module-level state."""

from __future__ import annotations

from celery import Celery

import celeryconfig
from adapters.settings import Settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("escrow")
    app.config_from_object(celeryconfig)
    app.conf.broker_url = settings.redis_url
    return app
