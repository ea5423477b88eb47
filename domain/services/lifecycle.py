"""After funding: delivery, release, disputes and their resolution, expiry of unfunded deals."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import ledger
from domain.deals import Deal, Dispute, Settlement, Trigger, check_text
from domain.errors import (
    ConcurrencyError,
    Conflict,
    Forbidden,
    IllegalTransitionError,
    InvalidInput,
)
from domain.ledger import PostingConflict, UnbalancedPosting
from domain.money import fee_for
from domain.payments import PaymentStatus
from domain.services.announce import kes, tell_parties, wallet_moved
from domain.services.context import Context
from domain.services.deals import visible_deal
from domain.users import User

SWEEP_LIMIT = 200


def deliver(ctx: Context, user: User, deal_id: str) -> Deal:
    """The seller says it is delivered: the buyer's inspection period starts."""
    deal = visible_deal(ctx, user, deal_id)
    deal.require_seller(user.id, "mark delivered")
    if deal.delivered_at is not None:
        raise Conflict("this deal is already marked delivered")
    now = ctx.clock.now()
    ends = now + timedelta(days=deal.inspection_days)
    after = deal.apply(Trigger.DELIVER, user.id, now, "delivered",
                       f"inspection period ends {ends.isoformat()}", delivered_at=now,
                       inspection_ends_at=ends)
    _commit(ctx, deal, after)
    tell_parties(ctx, after, "deal_delivered",
                 f"'{deal.title}' was marked delivered; inspection ends {ends:%Y-%m-%d %H:%M} UTC",
                 only=(deal.buyer_id,))
    return after


def release(ctx: Context, user: User, deal_id: str) -> Deal:
    """The buyer is satisfied: the escrow goes to the seller's wallet, less the fee."""
    deal = visible_deal(ctx, user, deal_id)
    deal.require_buyer(user.id, "release")
    return _settle(ctx, deal, Trigger.RELEASE, user.id, "released", deal.amount, None)


def auto_release_due(ctx: Context, now: datetime) -> list[str]:
    """Release every deal whose inspection period is over. Safe to run twice at once."""
    released = []
    for deal in ctx.deals.due_for_release(now, SWEEP_LIMIT):
        try:
            _settle(ctx, deal, Trigger.AUTO_RELEASE, "system", "auto_released", deal.amount,
                    "the inspection period ended without a dispute", now=now)
        except (ConcurrencyError, IllegalTransitionError):
            continue  # another run, a release or a dispute got there first
        released.append(deal.id)
    return released


def open_dispute(ctx: Context, user: User, deal_id: str, reason: str) -> Deal:
    deal = visible_deal(ctx, user, deal_id)
    deal.require_party(user.id, "dispute")
    text = check_text("reason", reason, 2_000) or ""
    now = ctx.clock.now()
    after = deal.apply(Trigger.DISPUTE, user.id, now, "dispute_opened", text,
                       dispute=Dispute(text, user.id, now))
    _commit(ctx, deal, after)
    tell_parties(ctx, after, "dispute_opened", f"A dispute was opened on '{deal.title}': {text}")
    return after


RESOLUTIONS = {"release": Trigger.RESOLVE_RELEASE, "refund": Trigger.RESOLVE_REFUND,
               "split": Trigger.RESOLVE_SPLIT}


def resolve_dispute(ctx: Context, admin: User, deal_id: str, outcome: str,
                    seller_amount: int | None, note: str | None) -> Deal:
    """An admin decides: all to the seller, all back to the buyer, or a split."""
    if not admin.is_admin:
        raise Forbidden("only an admin resolves disputes")
    deal = visible_deal(ctx, admin, deal_id)
    if outcome not in RESOLUTIONS:
        raise InvalidInput("outcome", "must be release, refund or split")
    seller_share = {"release": deal.amount, "refund": 0}.get(outcome, seller_amount)
    if outcome == "split" and (isinstance(seller_share, bool) or not isinstance(seller_share, int)
                               or not 0 < seller_share < deal.amount):
        raise InvalidInput("sellerAmount", f"must be between 1 and {deal.amount - 1} for a split")
    if outcome != "split" and seller_amount is not None:
        raise InvalidInput("sellerAmount", "only a split takes a seller amount")
    if deal.dispute is None:
        raise Conflict("this deal has no open dispute")
    assert seller_share is not None
    now = ctx.clock.now()
    resolved = Dispute(deal.dispute.reason, deal.dispute.opened_by, deal.dispute.opened_at,
                       outcome, admin.id, now, note)
    return _settle(ctx, deal, RESOLUTIONS[outcome], admin.id, f"dispute_{outcome}",
                   seller_share, note, dispute=resolved)


def _settle(ctx: Context, deal: Deal, trigger: Trigger, actor: str, event: str,
            seller_share: int, note: str | None, now: datetime | None = None,
            **changes: object) -> Deal:
    """Decide the division in one compare-and-set on the deal, then post it to the ledger."""
    now = now or ctx.clock.now()
    fee = fee_for(seller_share, ctx.fee_rate_bps)
    settlement = Settlement(event, seller_share, deal.amount - seller_share, fee, now)
    after = deal.apply(trigger, actor, now, event, note, settlement=settlement, **changes)
    _commit(ctx, deal, after)
    post_settlement(ctx, after)
    return after


def _announce_settlement(ctx: Context, deal: Deal) -> None:
    s = deal.settlement
    assert s is not None
    paid = s.seller_amount - s.fee
    message = {
        "released": f"'{deal.title}' was released: {kes(paid)} to the seller's wallet",
        "auto_released": f"'{deal.title}' was released automatically after the inspection "
                         f"period: {kes(paid)} to the seller's wallet",
    }.get(s.kind, f"The dispute on '{deal.title}' was resolved "
                  f"({s.kind.removeprefix('dispute_')}): {kes(paid)} to the seller, "
                  f"{kes(s.buyer_amount)} to the buyer")
    tell_parties(ctx, deal, s.kind, message, key=f"deal:{deal.id}:settled")  # once, ever


def post_settlement(ctx: Context, deal: Deal) -> bool:
    """The ledger posting a settled deal implies; writing it again is a no-op."""
    s = deal.settlement
    if s is None or deal.funded_by is None:  # nothing was ever held: nothing to post
        ctx.deals.mark_settlement_posted(deal.id)
        return False
    posted = ctx.ledger.post(ledger.settle_escrow(
        deal.id, deal.buyer_id, deal.seller_id, s.seller_amount, s.buyer_amount, s.fee, s.kind,
        s.settled_at))
    if posted:
        wallet_moved(ctx, *[u for u, share in ((deal.seller_id, s.seller_amount),
                                               (deal.buyer_id, s.buyer_amount)) if share])
    _announce_settlement(ctx, deal)  # stored once per deal version: a no-op when already told
    ctx.deals.mark_settlement_posted(deal.id)
    return posted


def repair_settlements(ctx: Context, limit: int = 500) -> int:
    """Post what a crash between a deal's settlement and its posting left undone: a cursor over
    what is not known to be posted, so no backlog hides a broken deal. One deal that cannot be
    posted is alerted and does not stop the others."""
    repaired = 0
    for deal in ctx.deals.unposted_settlements(limit):
        try:
            repaired += post_settlement(ctx, deal)
        except (PostingConflict, UnbalancedPosting) as error:
            ctx.notifier.alert("a settled deal's posting cannot be written", deal=deal.id,
                               error=str(error))
    return repaired


def expire_unfunded(ctx: Context, now: datetime) -> list[str]:
    """Cancel pending deals past their due date that nobody paid (or is paying) for."""
    expired = []
    for deal in ctx.deals.unfunded_past_due(now, SWEEP_LIMIT):
        if any(p.is_open or p.status is PaymentStatus.SUCCESS
               for p in ctx.payments.for_deal(deal.id)):
            continue
        after = deal.apply(Trigger.EXPIRE, "system", now, "expired",
                           "the due date passed before the deal was funded")
        try:
            _commit(ctx, deal, after)
        except ConcurrencyError:
            continue
        tell_parties(ctx, after, "deal_expired",
                     f"'{deal.title}' was cancelled: its due date passed before it was funded")
        expired.append(deal.id)
    return expired


def _commit(ctx: Context, before: Deal, after: Deal) -> None:
    ctx.deals.save(after, expected_version=before.version)
    assert after.last_event is not None
    ctx.deals.record_event(after.last_event)
    ctx.notifier.deal_changed(after, "transaction:updated")

