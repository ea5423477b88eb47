"""gunicorn's settings for the API (``gunicorn -c gunicorn.conf.py …``: Procfile, Procfile.dev,
the tests' stack). Workers, threads and the address stay on each command line."""

from __future__ import annotations

# JSON lines for gunicorn's error log and its access log (stdout), scrubbed like ours; the
# access line leaves out the query string and the referer (adapters/gunicorn_logging.py).
logger_class = "adapters.gunicorn_logging.JsonLogger"
accesslog = "-"
errorlog = "-"

