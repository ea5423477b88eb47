"""Opening, reading, editing and cancelling deals, against fakes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.deals import DealStatus
from domain.errors import (
    ConcurrencyError,
    Conflict,
    Forbidden,
    IllegalTransitionError,
    InvalidInput,
    NotFound,
)
from domain.ports import DealQuery
from domain.services import accounts, deals
from tests.unit.world import World


def test_a_buyer_opens_a_pending_deal_with_a_first_timeline_event(world: World) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id,
                           world.terms(title="  Phone ", inspection_days=7, terms=None))
    assert (deal.status, deal.amount, deal.currency, deal.version) == (
        DealStatus.PENDING, 1500, "KES", 1)
    assert (deal.buyer_id, deal.seller_id, deal.title, deal.inspection_days) == (
        world.buyer.id, world.seller.id, "Phone", 7)
    assert world.fakes.deals.get(deal.id) == deal
    [event] = deals.timeline(world.ctx, deal)
    assert (event.seq, event.event, event.from_status, event.status, event.actor) == (
        1, "created", None, DealStatus.PENDING, world.buyer.id)
    assert deal.last_event == event and event.timestamp == world.fakes.clock.now()


def test_opening_a_deal_tells_the_seller_once_and_emits_the_creation(world: World) -> None:
    deal = world.open_deal()
    assert world.fakes.notifier.deal_events == [("transaction:created", deal.id, "pending")]
    assert world.fakes.notifications.kinds_for(world.seller.id) == ["deal_created"]
    assert world.fakes.notifications.kinds_for(world.buyer.id) == []
    assert [n.user_id for n in world.fakes.notifier.emitted] == [world.seller.id]


def test_the_seller_can_be_named_by_id_or_by_email_in_any_case(world: World) -> None:
    by_id = deals.open_deal(world.ctx, world.buyer.id,
                            world.terms(seller_email=None, seller_id=world.seller.id))
    by_email = deals.open_deal(world.ctx, world.buyer.id,
                               world.terms(seller_email=" SELLER@example.com "))
    assert by_id.seller_id == by_email.seller_id == world.seller.id


@pytest.mark.parametrize("who", ["seller", "admin", "nobody"])
def test_only_a_buyer_opens_deals(world: World, who: str) -> None:
    opener = {"seller": world.seller.id, "nobody": "no-such-user",
              "admin": accounts.create_admin(world.ctx, "ops@example.com", "ops password!").id}
    with pytest.raises(Forbidden):
        deals.open_deal(world.ctx, opener[who], world.terms())
    assert world.fakes.deals.rows == {} and world.fakes.notifier.deal_events == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"seller_email": "nobody@example.com"}, "sellerEmail"),
    ({"seller_email": None}, "sellerEmail"),
    ({"seller_email": "other-buyer@example.com"}, "sellerEmail"),  # not a seller
    ({"seller_email": None, "seller_id": "no-such-user"}, "sellerId"),
    ({"seller_email": "buyer@example.com"}, "sellerEmail"),  # yourself
    ({"amount": 0}, "amount"), ({"amount": -5}, "amount"), ({"amount": 250_001}, "amount"),
    ({"amount": 10.5}, "amount"), ({"amount": "1500"}, "amount"), ({"amount": True}, "amount"),
    ({"inspection_days": 0}, "inspectionDays"), ({"inspection_days": 31}, "inspectionDays"),
    ({"inspection_days": True}, "inspectionDays"), ({"inspection_days": 2.5}, "inspectionDays"),
    ({"title": " "}, "title"), ({"title": "x" * 201}, "title"), ({"title": None}, "title"),
    ({"description": ""}, "description"), ({"terms": "x" * 5_001}, "terms"),
])
def test_a_deal_with_bad_terms_is_refused_and_nothing_is_stored(
    world: World, changes: dict[str, Any], field: str,
) -> None:
    world.register("other-buyer@example.com", "buyer")
    with pytest.raises(InvalidInput) as refused:
        deals.open_deal(world.ctx, world.buyer.id, world.terms(**changes))
    assert refused.value.field == field
    assert world.fakes.deals.rows == {} and world.fakes.deals.events == {}
    assert world.fakes.notifier.deal_events == []


@pytest.mark.parametrize("days", [1, 30])
def test_inspection_periods_of_one_to_thirty_days_are_accepted(world: World, days: int) -> None:
    deal = deals.open_deal(world.ctx, world.buyer.id, world.terms(inspection_days=days))
    assert deal.inspection_days == days


@pytest.mark.parametrize(("offset", "accepted"), [
    (timedelta(days=1), True), (timedelta(seconds=1), True),
    (timedelta(0), False), (timedelta(days=-1), False)])
def test_a_due_date_must_lie_in_the_future(
    world: World, offset: timedelta, accepted: bool,
) -> None:
    due = world.fakes.clock.now() + offset
    if accepted:
        assert deals.open_deal(world.ctx, world.buyer.id, world.terms(due_date=due)).due_date == due
        return
    with pytest.raises(InvalidInput) as refused:
        deals.open_deal(world.ctx, world.buyer.id, world.terms(due_date=due))
    assert refused.value.field == "dueDate"


def test_a_deal_is_hidden_from_strangers_but_shown_to_parties_and_admins(world: World) -> None:
    deal = world.open_deal()
    stranger = world.register("x@example.com", "buyer")
    with pytest.raises(NotFound) as hidden:
        deals.visible_deal(world.ctx, stranger, deal.id)
    with pytest.raises(NotFound) as missing:
        deals.visible_deal(world.ctx, stranger, "no-such-deal")
    assert hidden.value.message == missing.value.message  # a stranger learns nothing
    admin = accounts.create_admin(world.ctx, "ops@example.com", "an operator password")
    for viewer in (admin, world.buyer, world.seller):
        assert deals.visible_deal(world.ctx, viewer, deal.id) == deal


def test_a_listing_is_scoped_to_the_user_whatever_the_query_asks(world: World) -> None:
    mine = world.open_deal()
    other_buyer = world.register("x@example.com", "buyer")
    theirs = deals.open_deal(world.ctx, other_buyer.id, world.terms())
    found, total = deals.list_deals(world.ctx, world.buyer, DealQuery(user_id=None))
    assert ([d.id for d in found], total) == ([mine.id], 1)
    found, total = deals.list_deals(world.ctx, world.seller, DealQuery(user_id=other_buyer.id))
    assert total == 2 and {d.id for d in found} == {mine.id, theirs.id}
    admin = accounts.create_admin(world.ctx, "ops@example.com", "an operator password")
    assert deals.list_deals(world.ctx, admin, DealQuery(user_id=world.buyer.id))[1] == 2
    assert world.fakes.deals.queries[-1].user_id is None


def test_the_buyer_edits_a_pending_deal_and_the_edit_is_recorded(world: World) -> None:
    deal = world.open_deal()
    world.fakes.clock.advance(minutes=3)
    edited = deals.update_deal(world.ctx, world.buyer, deal.id,
                               {"amount": 2000, "title": " New ", "terms": None})
    assert (edited.amount, edited.title, edited.terms, edited.version) == (2000, "New", None, 2)
    assert world.fakes.deals.get(deal.id) == edited
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.seq, event.event, event.note, event.from_status) == (
        2, "updated", "amount, terms, title", DealStatus.PENDING)
    assert world.fakes.notifier.deal_events[-1] == ("transaction:updated", deal.id, "pending")


@pytest.mark.parametrize(("changes", "field"), [
    ({"status": "active"}, "status"), ({"buyerId": "me"}, "buyerId"),
    ({"amount": 0}, "amount"), ({"title": ""}, "title")])
def test_an_edit_with_a_forbidden_field_or_a_bad_value_changes_nothing(
    world: World, changes: dict[str, Any], field: str,
) -> None:
    deal = world.open_deal()
    with pytest.raises(InvalidInput) as refused:
        deals.update_deal(world.ctx, world.buyer, deal.id, changes)
    assert refused.value.field == field
    assert world.fakes.deals.get(deal.id) == deal and len(deals.timeline(world.ctx, deal)) == 1


def test_only_the_buyer_edits_or_cancels(world: World) -> None:
    deal = world.open_deal()
    admin = accounts.create_admin(world.ctx, "ops@example.com", "an operator password")
    for other in (world.seller, admin):
        with pytest.raises(Forbidden):
            deals.update_deal(world.ctx, other, deal.id, {"amount": 1})
        with pytest.raises(Forbidden):
            deals.cancel_deal(world.ctx, other, deal.id)
    with pytest.raises(NotFound):
        deals.cancel_deal(world.ctx, world.register("x@example.com"), deal.id)
    assert world.fakes.deals.get(deal.id) == deal


def test_cancelling_keeps_the_deal_records_it_and_tells_both_parties(world: World) -> None:
    deal = world.open_deal()
    cancelled = deals.cancel_deal(world.ctx, world.buyer, deal.id)
    assert (cancelled.status, cancelled.version) == (DealStatus.CANCELLED, 2)
    assert world.fakes.deals.get(deal.id) == cancelled
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.from_status, event.status) == (
        "cancelled", DealStatus.PENDING, DealStatus.CANCELLED)
    assert world.fakes.notifications.kinds_for(world.buyer.id) == ["deal_cancelled"]
    assert world.fakes.notifications.kinds_for(world.seller.id) == [
        "deal_created", "deal_cancelled"]


def test_a_cancelled_deal_can_be_neither_edited_nor_cancelled_again(world: World) -> None:
    deal = world.open_deal()
    cancelled = deals.cancel_deal(world.ctx, world.buyer, deal.id)
    with pytest.raises(IllegalTransitionError):
        deals.cancel_deal(world.ctx, world.buyer, deal.id)
    with pytest.raises(IllegalTransitionError):
        deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 1})
    assert world.fakes.deals.get(deal.id) == cancelled


@pytest.mark.parametrize("stage", ["queued", "pending", "paid"])
def test_a_deal_with_a_payment_in_flight_or_made_is_frozen(world: World, stage: str) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    if stage != "queued":
        payment = world.push(payment)
    if stage == "paid":
        world.settle(world.success(payment))
    before = world.deal(deal.id)
    with pytest.raises(Conflict):
        deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 1})
    with pytest.raises(Conflict):
        deals.cancel_deal(world.ctx, world.buyer, deal.id)
    assert world.deal(deal.id) == before


def test_a_deal_whose_payment_failed_may_be_edited_and_cancelled_again(world: World) -> None:
    deal, payment = world.pending_payment()
    world.settle(world.failure(payment))
    assert deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 900}).amount == 900
    assert deals.cancel_deal(world.ctx, world.buyer, deal.id).status is DealStatus.CANCELLED


def test_a_concurrent_change_wins_and_the_loser_records_no_event(world: World) -> None:
    deal = world.open_deal()
    world.fakes.deals.fail_next_save = ConcurrencyError("the deal changed meanwhile")
    with pytest.raises(ConcurrencyError):
        deals.update_deal(world.ctx, world.buyer, deal.id, {"amount": 900})
    assert world.deal(deal.id) == deal and len(deals.timeline(world.ctx, deal)) == 1
