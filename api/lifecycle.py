"""What happens to a funded deal: delivery, release, disputes and their resolution."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from adapters.presenters import DealSchema, deal_view
from api.deps import ctx, current_user
from api.envelope import envelope, ok
from api.schemas import DisputeIn, ResolveIn
from domain.deals import Deal
from domain.services import deals, lifecycle

blp = Blueprint("transaction-lifecycle", __name__, url_prefix="/api/transactions",
                description="Delivery, release and disputes of funded deals")


def _shown(deal: Deal, message: str) -> dict[str, Any]:
    return ok(deal_view(deal, deals.timeline(ctx(), deal)), message)


@blp.route("/<deal_id>/deliver")
class Deliver(MethodView):
    @jwt_required()
    @blp.response(200, envelope(DealSchema))
    def post(self, deal_id: str) -> dict[str, Any]:
        """The seller marks the deal delivered; the buyer's inspection period starts."""
        return _shown(lifecycle.deliver(ctx(), current_user(), deal_id), "marked delivered")


@blp.route("/<deal_id>/release")
class Release(MethodView):
    @jwt_required()
    @blp.response(200, envelope(DealSchema))
    def post(self, deal_id: str) -> dict[str, Any]:
        """The buyer releases the escrow to the seller's wallet (less the platform fee)."""
        return _shown(lifecycle.release(ctx(), current_user(), deal_id), "funds released")


@blp.route("/<deal_id>/dispute")
class OpenDispute(MethodView):
    @jwt_required()
    @blp.arguments(DisputeIn)
    @blp.response(200, envelope(DealSchema))
    def post(self, body: dict[str, Any], deal_id: str) -> dict[str, Any]:
        """Either party disputes a funded deal; release is blocked until an admin resolves it."""
        deal = lifecycle.open_dispute(ctx(), current_user(), deal_id, body["reason"])
        return _shown(deal, "dispute opened")


@blp.route("/<deal_id>/resolve")
class Resolve(MethodView):
    @jwt_required()
    @blp.arguments(ResolveIn)
    @blp.response(200, envelope(DealSchema))
    def post(self, body: dict[str, Any], deal_id: str) -> dict[str, Any]:
        """An admin resolves a dispute: release, refund, or split (sellerAmount to the seller)."""
        deal = lifecycle.resolve_dispute(ctx(), current_user(), deal_id, body["outcome"],
                                         body.get("sellerAmount"), body.get("note"))
        return _shown(deal, "dispute resolved")
