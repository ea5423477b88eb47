"""Opening, reading, editing and cancelling deals, against fakes."""

from __future__ import annotations

import pytest

from domain.deals import DealStatus
from domain.errors import Conflict, Forbidden, IllegalTransitionError, InvalidInput, NotFound
from domain.services import accounts, deals, payments
from domain.services.deals import DealTerms
from tests.unit.conftest import World


def _terms(world: World, **changes: object) -> DealTerms:
    base = {"title": "Phone", "description": "Used", "amount": 1500,
            "seller_email": world.seller.email}
    return DealTerms(**{**base, **changes})  # type: ignore[arg-type]


def test_a_buyer_opens_a_deal_that_starts_its_timeline_and_tells_the_parties(
    world: World,
) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, _terms(world, inspection_days=7))
    assert (deal.status, deal.amount, deal.seller_id, deal.inspection_days) == (
        DealStatus.PENDING, 1500, world.seller.id, 7)
    assert [e.event for e in deals.timeline(world.ctx, deal)] == ["created"]
    assert world.ctx.notifier.sent == [  # type: ignore[attr-defined]
        ("transaction:created", deal.id, "pending")]


def test_only_a_buyer_opens_deals(world: World) -> None:
    with pytest.raises(Forbidden):
        deals.open_deal(world.ctx, world.seller.id, _terms(world))


@pytest.mark.parametrize(("changes", "field"), [
    ({"seller_email": "nobody@example.com"}, "sellerEmail"),
    ({"seller_email": None}, "sellerEmail"),
    ({"seller_email": "buyer@example.com"}, "sellerEmail"),
    ({"amount": 0}, "amount"),
    ({"inspection_days": 31}, "inspectionDays"),
    ({"title": " "}, "title"),
])
def test_a_deal_with_bad_terms_is_refused(world: World, changes: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        deals.open_deal(world.ctx, world.buyer.id, _terms(world, **changes))
    assert refused.value.field == field
    assert world.ctx.deals.rows == {}  # type: ignore[attr-defined]


def test_a_deal_is_hidden_from_strangers_but_shown_to_admins(world: World) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, _terms(world))
    stranger = accounts.register(world.ctx, "x@example.com", "a long password", "X", "Y", "buyer")
    with pytest.raises(NotFound):
        deals.visible_deal(world.ctx, stranger, deal.id)
    admin = accounts.create_admin(world.ctx, "ops@example.com", "an operator password")
    assert deals.visible_deal(world.ctx, admin, deal.id) == deal
    assert deals.visible_deal(world.ctx, world.seller, deal.id) == deal


def test_the_buyer_edits_a_pending_deal_and_the_seller_cannot(world: World) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, _terms(world))
    with pytest.raises(Forbidden):
        deals.update_deal(world.ctx, world.seller, deal.id, {"amount": 1})
    edited = deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 2000, "title": "New"})
    assert (edited.amount, edited.title, edited.version) == (2000, "New", 2)
    with pytest.raises(InvalidInput):
        deals.update_deal(world.ctx, world.buyer, deal.id, {"status": "active"})


def test_cancelling_keeps_the_deal_and_is_final(world: World) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, _terms(world))
    with pytest.raises(Forbidden):
        deals.cancel_deal(world.ctx, world.seller, deal.id)
    cancelled = deals.cancel_deal(world.ctx, world.buyer, deal.id)
    assert cancelled.status is DealStatus.CANCELLED
    assert world.ctx.deals.get(deal.id) == cancelled
    with pytest.raises(IllegalTransitionError):
        deals.cancel_deal(world.ctx, world.buyer, deal.id)


def test_a_deal_with_a_payment_in_flight_is_frozen(world: World) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, _terms(world))
    payments.request_payment(world.ctx, world.buyer, deal.id, "254708374149", "k1", "h1")
    with pytest.raises(Conflict):
        deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 1})
    with pytest.raises(Conflict):
        deals.cancel_deal(world.ctx, world.buyer, deal.id)
