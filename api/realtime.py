"""Socket.IO on the API's host: JWT on connect, one room per user, and a socket lives no
longer than its token: revoked (on any API process) or expired, it is disconnected."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_jwt_extended import decode_token
from flask_socketio import SocketIO, join_room

from adapters.emitter import room
from adapters.redis_store import subscriber
from adapters.settings import Settings
from adapters.socket_sessions import Held, SocketSessions
from api import audit, tokens


def init(app: Flask, settings: Settings) -> SocketIO:
    socketio = SocketIO(
        app, async_mode="threading", message_queue=settings.redis_url,
        channel=settings.socketio_channel,
        cors_allowed_origins=list(settings.cors_origins) or None,
    )
    container = app.extensions["escrow"]
    sessions = SocketSessions(
        subscriber(settings.redis_url, settings.redis_timeout_s), container.revocations,
        lambda sid: socketio.server.disconnect(sid, namespace="/", ignore_queue=True))

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
        if payload.get("type") != "access" or tokens.is_blocked(payload):
            return False
        join_room(room(str(payload["sub"])))
        sessions.add(request.sid, Held(  # type: ignore[attr-defined]
            jti=str(payload["jti"]), family=payload.get("fam"), user_id=str(payload["sub"]),
            generation=tokens.generation(payload), exp=float(payload["exp"])))
        return True

    @socketio.on("disconnect")
    def _disconnect(*_: Any) -> None:
        sessions.remove(request.sid)  # type: ignore[attr-defined]

    return socketio
