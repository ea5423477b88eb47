"""``/api/notifications``: what each person was told, read or unread."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from adapters.presenters import NotificationSchema
from api.deps import ctx, current_user
from api.envelope import envelope, ok, page_envelope
from api.schemas import CountOut, NotificationArgs
from domain.services import notifications

blp = Blueprint("notifications", __name__, url_prefix="/api/notifications",
                description="Stored notifications")


@blp.route("")
class Notifications(MethodView):
    @jwt_required()
    @blp.arguments(NotificationArgs, location="query")
    @blp.response(200, page_envelope(NotificationSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Yours, newest first; ``unread=true`` for the unread ones only."""
        items, total = notifications.notifications_of(ctx(), current_user(), args["unread"],
                                                      args["page"], args["limit"])
        return ok({"items": items, "page": args["page"], "limit": args["limit"], "total": total})


@blp.route("/<notification_id>/read")
class MarkRead(MethodView):
    @jwt_required()
    @blp.response(200, envelope(CountOut))
    def post(self, notification_id: str) -> dict[str, Any]:
        """Mark one of yours read."""
        return ok({"updated": notifications.mark_read(ctx(), current_user(), notification_id)})


@blp.route("/read-all")
class MarkAllRead(MethodView):
    @jwt_required()
    @blp.response(200, envelope(CountOut))
    def post(self) -> dict[str, Any]:
        """Mark all of yours read."""
        return ok({"updated": notifications.mark_all_read(ctx(), current_user())})
