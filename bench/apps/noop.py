"""The Celery floor: a task that does nothing, on our broker and celeryconfig
(``celery -A bench.apps.noop worker -Q bench-noop -P threads -c N``)."""

from __future__ import annotations

from adapters.celery_factory import make_celery
from adapters.settings import Settings

QUEUE = "bench-noop"
NAME = "bench.noop"

app = make_celery(Settings.from_env())


@app.task(name=NAME, acks_late=True, ignore_result=True)
def noop() -> None:
    return None
