"""Opening, reading, editing and cancelling escrow deals."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from domain.deals import (
    DEFAULT_INSPECTION_DAYS,
    MAX_TEXT,
    MAX_TITLE,
    Deal,
    TimelineEvent,
    Trigger,
    check_amount,
    check_due_date,
    check_inspection_days,
    check_text,
)
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.payments import PaymentStatus
from domain.ports import DealQuery
from domain.services.announce import kes, tell_parties
from domain.services.context import Context
from domain.users import Role, User


@dataclasses.dataclass(frozen=True)
class DealTerms:
    title: str
    description: str
    amount: int
    seller_email: str | None = None
    seller_id: str | None = None
    due_date: datetime | None = None
    terms: str | None = None
    inspection_days: int = DEFAULT_INSPECTION_DAYS


def open_deal(ctx: Context, buyer_id: str, terms: DealTerms) -> Deal:
    buyer = ctx.users.get(buyer_id)
    if buyer is None or buyer.role is not Role.BUYER:
        raise Forbidden("only buyers open deals")
    seller = _find_seller(ctx, terms)
    if seller.id == buyer.id:
        raise InvalidInput("sellerEmail", "you cannot open a deal with yourself")
    now = ctx.clock.now()
    deal = Deal(
        id=ctx.ids.new_id(),
        title=check_text("title", terms.title, MAX_TITLE) or "",
        description=check_text("description", terms.description, MAX_TEXT) or "",
        amount=check_amount(terms.amount),
        buyer_id=buyer.id,
        seller_id=seller.id,
        due_date=check_due_date(terms.due_date, now),
        terms=check_text("terms", terms.terms, MAX_TEXT, required=False),
        inspection_days=check_inspection_days(terms.inspection_days),
        created_at=now,
        updated_at=now,
    )
    event = TimelineEvent(deal.id, 1, deal.status, None, "created", buyer.id, None, now)
    deal = dataclasses.replace(deal, last_event=event)
    ctx.deals.add(deal)
    ctx.deals.record_event(event)
    ctx.notifier.deal_changed(deal, "transaction:created")
    tell_parties(ctx, deal, "deal_created",
                 f"{buyer.first_name} opened a deal with you: '{deal.title}' for "
                 f"{kes(deal.amount)}",
                 only=(seller.id,))
    return deal


def _find_seller(ctx: Context, terms: DealTerms) -> User:
    if terms.seller_id:
        seller, field = ctx.users.get(terms.seller_id), "sellerId"
    elif terms.seller_email:
        seller, field = ctx.users.by_email(terms.seller_email.strip().lower()), "sellerEmail"
    else:
        raise InvalidInput("sellerEmail", "give sellerEmail or sellerId")
    if seller is None or seller.role is not Role.SELLER:
        raise InvalidInput(field, "no seller with that identity")
    return seller


def visible_deal(ctx: Context, user: User, deal_id: str) -> Deal:
    """The deal if ``user`` is a party or an admin; someone else's deal does not exist."""
    deal = ctx.deals.get(deal_id)
    if deal is None or not (user.is_admin or deal.is_party(user.id)):
        raise NotFound("deal not found")
    return deal


def timeline(ctx: Context, deal: Deal) -> Sequence[TimelineEvent]:
    return ctx.deals.timeline(deal.id)


def list_deals(ctx: Context, user: User, query: DealQuery) -> tuple[Sequence[Deal], int]:
    scoped = dataclasses.replace(query, user_id=None if user.is_admin else user.id)
    return ctx.deals.find(scoped)


EDITABLE = {"title", "description", "terms", "dueDate", "amount"}


def update_deal(ctx: Context, user: User, deal_id: str, changes: dict[str, object]) -> Deal:
    deal = visible_deal(ctx, user, deal_id)
    deal.require_buyer(user.id, "edit")
    _require_no_open_payment(ctx, deal)
    now = ctx.clock.now()
    fields: dict[str, object] = {}
    for key in changes:
        if key not in EDITABLE:
            raise InvalidInput(key, "cannot be changed")
    if "title" in changes:
        fields["title"] = check_text("title", changes["title"], MAX_TITLE)
    if "description" in changes:
        fields["description"] = check_text("description", changes["description"], MAX_TEXT)
    if "terms" in changes:
        fields["terms"] = check_text("terms", changes["terms"], MAX_TEXT, required=False)
    if "dueDate" in changes:
        due = changes["dueDate"]
        fields["due_date"] = check_due_date(due if isinstance(due, datetime) else None, now)
    if "amount" in changes:
        fields["amount"] = check_amount(changes["amount"])
    note = ", ".join(sorted(changes))
    updated = deal.apply(Trigger.UPDATE, user.id, now, "updated", note, **fields)
    return _save(ctx, deal, updated)


def cancel_deal(ctx: Context, user: User, deal_id: str) -> Deal:
    deal = visible_deal(ctx, user, deal_id)
    deal.require_buyer(user.id, "cancel")
    _require_no_open_payment(ctx, deal)
    now = ctx.clock.now()
    updated = deal.apply(Trigger.CANCEL, user.id, now, "cancelled", "cancelled by buyer")
    _save(ctx, deal, updated)
    tell_parties(ctx, updated, "deal_cancelled", f"'{deal.title}' was cancelled by the buyer")
    return updated


def _require_no_open_payment(ctx: Context, deal: Deal) -> None:
    """A deal with a payment in flight or already made is no longer the buyer's to change."""
    if any(p.is_open or p.status is PaymentStatus.SUCCESS for p in ctx.payments.for_deal(deal.id)):
        raise Conflict("this deal has a payment in progress or made")


def _save(ctx: Context, before: Deal, after: Deal) -> Deal:
    """Compare-and-set the deal, append its event, tell the parties."""
    ctx.deals.save(after, expected_version=before.version)
    assert after.last_event is not None
    ctx.deals.record_event(after.last_event)
    ctx.notifier.deal_changed(after, "transaction:updated")
    return after
