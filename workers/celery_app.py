"""The Celery application (``celery -A workers.celery_app worker``)."""

from __future__ import annotations

from typing import Any

from celery import signals

from adapters.celery_factory import make_celery
from adapters.observability import configure_logging, init_sentry
from adapters.settings import Settings

settings = Settings.from_env()
app = make_celery(settings)
app.conf.imports = ("workers.tasks",)


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging(settings.log_level)


@signals.celeryd_init.connect
def _sentry(**_: Any) -> None:
    from sentry_sdk.integrations.celery import CeleryIntegration

    init_sentry(settings, CeleryIntegration(monitor_beat_tasks=True))
