"""gunicorn's own logs as JSON lines: its error log and an access log that names no secret.

Used by gunicorn.conf.py (``logger_class``). An access line is one event, ``METHOD PATH
STATUS``, with the fields as keys. The query string and the referer are left out (either may
carry a token or a phone number), the path goes through the scrubber like every other line
(the callback token in ``/api/mpesa/<kind>/<token>``), and ``request_id`` is the response's
``X-Request-ID``, so the line joins the request's own lines and its tasks'."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gunicorn import glogging

from adapters.observability import _ScrubRecords, json_formatter


class JsonLogger(glogging.Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = json_formatter()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter)
            if not any(isinstance(f, _ScrubRecords) for f in log.filters):
                log.addFilter(_ScrubRecords())

    def access(self, resp: Any, req: Any, environ: dict[str, Any],
               request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        try:
            self.access_log.info("%s %s %s", *_request_line(resp, environ),
                                 extra=access_fields(resp, environ, request_time))
        except Exception:
            self.exception("could not write an access line")


def _request_line(resp: Any, environ: dict[str, Any]) -> tuple[str, str, int]:
    return environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-"), _status(resp)


def _status(resp: Any) -> int:
    status = resp.status
    return int(status.split(None, 1)[0] if isinstance(status, str) else status)


def access_fields(resp: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (resp.headers or [])}
    method, path, status = _request_line(resp, environ)
    return {
        "remote": environ.get("REMOTE_ADDR"), "method": method, "path": path, "status": status,
        "bytes": getattr(resp, "sent", None),
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "request_id": headers.get("x-request-id"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
    }



