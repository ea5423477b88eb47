"""The Celery application (``celery -A workers.celery_app worker``)."""

from __future__ import annotations

import logging
from typing import Any

import structlog
from celery import Task, signals

from adapters.celery_factory import make_celery
from adapters.observability import configure_logging, init_sentry, secret_values
from adapters.queue import REQUEST_ID
from adapters.settings import Settings

log = logging.getLogger("workers.tasks")

settings = Settings.from_env()
app = make_celery(settings)
app.conf.imports = ("workers.tasks",)


@signals.setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging(settings.log_level, secret_values(settings))


@signals.celeryd_init.connect
@signals.beat_init.connect
def _sentry(**_: Any) -> None:
    """Workers and beat alike report to Sentry, through the same scrubber as the API."""
    from sentry_sdk.integrations.celery import CeleryIntegration

    init_sentry(settings, CeleryIntegration(monitor_beat_tasks=True))


@signals.task_prerun.connect
def _bind_task(task_id: str, task: Task, args: Any = (), **_: Any) -> None:
    """Every line a task logs carries its id, its name and the id of the request that caused
    it (the header adapters/queue.py sets); tasks it enqueues inherit that request id. A task
    no request caused (beat's sweeps) is its own origin: its id is the request id."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=task.name,
        request_id=getattr(task.request, REQUEST_ID, None) or task_id)
    log.info("task started", extra={"task_args": list(args or ())})


@signals.task_postrun.connect
def _unbind_task(state: str | None = None, **_: Any) -> None:
    log.info("task finished", extra={"state": state})
    structlog.contextvars.clear_contextvars()
