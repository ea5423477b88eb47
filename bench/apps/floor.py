"""The ingest floor: a bare Flask endpoint doing one Redis LPUSH, served by the same gunicorn
flags as the API (``gunicorn bench.apps.floor:app``)."""

from __future__ import annotations

import os
from functools import cache

import redis
from flask import Flask, request

app = Flask(__name__)
KEY = "bench:floor"


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


@app.post("/push")
def push() -> tuple[dict[str, bool], int]:
    _redis().lpush(KEY, request.get_data())
    return {"queued": True}, 202


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
