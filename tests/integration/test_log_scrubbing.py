"""A real gunicorn with its access log on: callback URLs reach no log line with their token."""

from __future__ import annotations

import uuid

import requests

from devstack.services import free_port, wait_for_http
from tests.helpers import wait_until
from tests.stack import BIN, Stack


def test_gunicorns_access_and_error_logs_never_show_the_callback_token(stack: Stack) -> None:
    port = str(free_port())
    name = f"api-access-log-{uuid.uuid4().hex[:6]}"
    stack.start(name, [str(BIN / "gunicorn"), "-w", "1", "--threads", "4",
                       "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "wsgi:app"],
                extra_env={"API_PORT": port, "LOG_LEVEL": "DEBUG"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/api/health", timeout=60)
        token = stack.callback_token
        body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "ResultCode": 1032,
                                         "CheckoutRequestID": f"ws_CO_{uuid.uuid4().hex[:16]}",
                                         "ResultDesc": "Request cancelled by user"}}}
        assert requests.post(f"{base}/api/mpesa/stk/callback/{token}", json=body,
                             timeout=10).status_code == 200
        assert requests.post(f"{base}/api/mpesa/b2c/result/{token}", data=b"not json",
                             timeout=10).status_code == 400
        log = stack.log(name)
        wait_until(lambda: log.read_text().count("/api/mpesa/") >= 2, timeout=15,
                   what="the access log lines of both callbacks")
        written = log.read_text()
        assert token not in written
        assert "/api/mpesa/stk/callback/[redacted]" in written
        assert "/api/mpesa/b2c/result/[redacted]" in written
    finally:
        stack.stop(name)
