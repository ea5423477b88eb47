"""gunicorn's settings for the API (``gunicorn -c gunicorn.conf.py …``: Procfile, Procfile.dev,
the tests' stack). Workers, threads and the address stay on each command line."""

from __future__ import annotations

from typing import Any

# JSON lines for gunicorn's error log and its access log (stdout), scrubbed like ours; the
# access line leaves out the query string and the referer (adapters/gunicorn_logging.py).
logger_class = "adapters.gunicorn_logging.JsonLogger"
accesslog = "-"
errorlog = "-"


def post_worker_init(worker: Any) -> None:
    """Prometheus metrics on their own port, never the API's (METRICS_PORT; off when unset)."""
    from api.metrics import serve

    serve(worker.wsgi)
