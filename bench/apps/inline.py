"""The inline baseline: the STK push made in the request handler, written plainly, as a first
version of a payments backend would (``gunicorn -w 1 --threads 32 bench.apps.inline:app``).

``POST /pay {"phone"}`` gets an OAuth token (kept in the process), sends the STK push to the
Daraja sandbox and answers 200 once Daraja has accepted it: one prompt on the phone. Nothing is
stored; ``POST /callback`` acknowledges the sandbox's callbacks and drops them. Every thread
waits out the provider's latency, which is what this baseline is here to show."""

from __future__ import annotations

import base64
import os
import threading
from datetime import datetime
from typing import Any

import requests
from flask import Flask, request
from requests.adapters import HTTPAdapter

from adapters.settings import Settings

app = Flask(__name__)
settings = Settings.from_env()
CALLBACK_URL = f"http://127.0.0.1:{os.environ['BENCH_PORT']}/callback"
http = requests.Session()
http.mount("http://", HTTPAdapter(pool_maxsize=64))
_token: dict[str, str] = {}
_token_lock = threading.Lock()


def token() -> str:
    with _token_lock:
        if "value" not in _token:
            answer = http.get(f"{settings.mpesa_base_url}/oauth/v1/generate",
                              params={"grant_type": "client_credentials"},
                              auth=(settings.mpesa_consumer_key, settings.mpesa_consumer_secret),
                              timeout=30)
            answer.raise_for_status()
            _token["value"] = answer.json()["access_token"]
        return _token["value"]


@app.post("/pay")
def pay() -> tuple[dict[str, Any], int]:
    phone = request.get_json()["phone"]
    timestamp = datetime.now().strftime("%Y%m%d%H%M%S")
    secret = f"{settings.mpesa_shortcode}{settings.mpesa_passkey}{timestamp}"
    answer = http.post(
        f"{settings.mpesa_base_url}/mpesa/stkpush/v1/processrequest",
        headers={"Authorization": f"Bearer {token()}"}, timeout=30,
        json={"BusinessShortCode": settings.mpesa_shortcode, "Timestamp": timestamp,
              "Password": base64.b64encode(secret.encode()).decode(),
              "TransactionType": settings.mpesa_transaction_type, "Amount": 100,
              "PartyA": phone, "PartyB": settings.mpesa_shortcode, "PhoneNumber": phone,
              "CallBackURL": CALLBACK_URL, "AccountReference": "BENCH",
              "TransactionDesc": "Escrow deal"})
    body = answer.json()
    if answer.status_code == 200 and body.get("ResponseCode") == "0":
        return {"checkoutRequestId": body["CheckoutRequestID"]}, 200
    return {"daraja": body}, 502


@app.post("/callback")
def callback() -> dict[str, Any]:
    return {"ResultCode": 0, "ResultDesc": "Accepted"}


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
