"""Telling people what happened: stored once per event and person, then emitted."""

from __future__ import annotations

from domain import ledger
from domain.deals import Deal
from domain.notifications import Notification
from domain.services.context import Context


def tell(ctx: Context, user_id: str, key: str, kind: str, message: str,
         deal_id: str | None = None, payout_id: str | None = None) -> None:
    """Store, then emit. A replayed event finds its notification stored and emits nothing."""
    note = Notification(f"{user_id}:{key}", user_id, kind, message, ctx.clock.now(),
                        deal_id=deal_id, payout_id=payout_id)
    if ctx.notifications.add(note):
        ctx.notifier.notify(note)


def tell_parties(ctx: Context, deal: Deal, kind: str, message: str,
                 only: tuple[str, ...] | None = None, key: str | None = None) -> None:
    """Both parties (or ``only`` these) hear of the deal's latest change (or of the event
    ``key`` names), once."""
    for user_id in only or (deal.buyer_id, deal.seller_id):
        tell(ctx, user_id, key or f"deal:{deal.id}:v{deal.version}", kind, message,
             deal_id=deal.id)


def wallet_moved(ctx: Context, *user_ids: str) -> None:
    for user_id in dict.fromkeys(user_ids):
        ctx.notifier.wallet_changed(user_id, ctx.ledger.balance(ledger.wallet(user_id)))


def kes(amount: int) -> str:
    return f"KES {amount:,}"
