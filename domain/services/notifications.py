"""What each person was told: listed, and marked read, only by that person."""

from __future__ import annotations

from collections.abc import Sequence

from domain.errors import NotFound
from domain.notifications import Notification
from domain.services.context import Context
from domain.users import User


def notifications_of(ctx: Context, user: User, unread_only: bool, page: int,
                     limit: int) -> tuple[Sequence[Notification], int]:
    return ctx.notifications.find(user.id, unread_only, page, limit)


def mark_read(ctx: Context, user: User, notification_id: str) -> int:
    """Mark one of the user's own notifications read; anyone else's is not found."""
    if not ctx.notifications.mark_read(user.id, notification_id):
        raise NotFound("notification not found")
    return 1


def mark_all_read(ctx: Context, user: User) -> int:
    return ctx.notifications.mark_all_read(user.id)
