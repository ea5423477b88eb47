"""Socket.IO on the API's host: JWT on connect, one room per user."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_jwt_extended import decode_token
from flask_socketio import SocketIO, join_room

from adapters.emitter import room
from adapters.settings import Settings
from api import audit
from api.deps import container


def init(app: Flask, settings: Settings) -> SocketIO:
    socketio = SocketIO(
        app, async_mode="threading", message_queue=settings.redis_url,
        channel=settings.socketio_channel,
        cors_allowed_origins=list(settings.cors_origins) or None,
    )

    @socketio.on("connect")
    @audit.refusals_recorded
    def _connect(auth: dict[str, Any] | None = None) -> bool:
        token = (auth or {}).get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            return False
        try:
            payload = decode_token(token)
        except Exception:  # expired, forged, or not a token at all: refuse
            return False
        if payload.get("type") != "access" or container().revocations.is_revoked(payload["jti"]):
            return False
        join_room(room(str(payload["sub"])))
        return True

    return socketio
