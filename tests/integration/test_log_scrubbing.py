"""A real gunicorn with its access log on: callback URLs reach no log line with their token."""

from __future__ import annotations

import json
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
        # Query strings may carry what must not be written: a phone, a JWT pasted by a client.
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        leaky = requests.get(f"{base}/api/health?phone=254708374149&access_token={jwt}",
                             headers={"Referer": f"{base}/?token={jwt}"}, timeout=10)
        assert leaky.status_code == 200
        log = stack.log(name)
        wait_until(lambda: log.read_text().count("/api/mpesa/") >= 2
                   and leaky.headers["X-Request-ID"] in log.read_text(), timeout=15,
                   what="the access log lines of both callbacks and of the health check")
        written = log.read_text()
        assert token not in written
        assert "254708374149" not in written and "eyJ" not in written
        access = [json.loads(line) for line in written.splitlines()
                  if line.startswith("{") and '"gunicorn.access"' in line]
        health = next(r for r in access if r["request_id"] == leaky.headers["X-Request-ID"])
        assert health["path"] == "/api/health" and health["status"] == 200
        assert "/api/mpesa/stk/callback/[redacted]" in written
        assert "/api/mpesa/b2c/result/[redacted]" in written
    finally:
        stack.stop(name)


def test_the_api_starts_sentry_with_the_scrubber(stack: Stack) -> None:
    import json

    import sentry_sdk

    from adapters.settings import Settings
    from api import create_app
    from tests.adapters.test_observability import Recording

    settings = Settings(app_env="test", sentry_dsn="https://public@sentry.invalid/1",
                        mongo_url=stack.env["MONGO_URL"], redis_url=stack.env["REDIS_URL"],
                        mongo_db=stack.scratch_db("sentry"),
                        mpesa_callback_token=stack.callback_token)
    app = create_app(settings)
    client = sentry_sdk.get_client()
    transport = Recording()
    client.transport = transport
    try:
        assert client.is_active() and client.options["environment"] == "test"

        @app.get("/boom")
        def boom() -> str:
            raise RuntimeError(f"push to 254708374149 for /api/mpesa/stk/callback/"
                               f"{stack.callback_token}")

        assert app.test_client().get("/boom").status_code == 500
    finally:
        sentry_sdk.flush()
        client.close()
    text = json.dumps(transport.events, default=str)
    assert transport.events and "RuntimeError" in text
    assert stack.callback_token not in text and "254708374149" not in text
