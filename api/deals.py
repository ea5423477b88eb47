"""Escrow deals: ``/api/transactions`` (the seed's name for a deal)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from adapters.presenters import DealSchema, PaymentSchema, deal_view, payment_view
from api.deps import ctx, current_user, idempotency_key, request_fingerprint
from api.envelope import envelope, ok, page_envelope
from api.openapi import IDEMPOTENCY_KEY
from api.schemas import DealIn, DealListArgs, DealUpdateIn, LedgerOut, PayIn
from domain.deals import DealStatus
from domain.ports import DealQuery
from domain.services import deals, payments
from domain.services.deals import DealTerms
from domain.services.ledger_views import deal_ledger

blp = Blueprint("transactions", __name__, url_prefix="/api/transactions",
                description="Escrow deals between a buyer and a seller")


@blp.route("")
class Deals(MethodView):
    @jwt_required()
    @blp.arguments(DealListArgs, location="query")
    @blp.response(200, page_envelope(DealSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your deals (admins: all), newest first; filter by status and your role."""
        status = DealStatus(args["status"]) if "status" in args else None
        query = DealQuery(None, args.get("role"), status, args["page"], args["limit"])
        found, total = deals.list_deals(ctx(), current_user(), query)
        items = [deal_view(d) for d in found]
        return ok({"items": items, "page": args["page"], "limit": args["limit"], "total": total})

    @jwt_required()
    @blp.arguments(DealIn)
    @blp.response(201, envelope(DealSchema))
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Open a deal as the buyer; the seller is notified."""
        terms = DealTerms(
            title=body["title"], description=body["description"], amount=body["amount"],
            seller_email=body.get("sellerEmail"), seller_id=body.get("sellerId"),
            due_date=body.get("dueDate"), terms=body.get("terms"),
            inspection_days=body.get("inspectionDays", 3),
        )
        deal = deals.open_deal(ctx(), current_user().id, terms)
        return ok(deal_view(deal, deals.timeline(ctx(), deal)), "deal created")


@blp.route("/<deal_id>")
class OneDeal(MethodView):
    @jwt_required()
    @blp.response(200, envelope(DealSchema))
    def get(self, deal_id: str) -> dict[str, Any]:
        """A deal with its timeline; someone else's deal is 404."""
        deal = deals.visible_deal(ctx(), current_user(), deal_id)
        return ok(deal_view(deal, deals.timeline(ctx(), deal)))

    @jwt_required()
    @blp.arguments(DealUpdateIn)
    @blp.response(200, envelope(DealSchema))
    def put(self, body: dict[str, Any], deal_id: str) -> dict[str, Any]:
        """Edit a pending, unpaid deal (buyer only)."""
        deal = deals.update_deal(ctx(), current_user(), deal_id, body)
        return ok(deal_view(deal, deals.timeline(ctx(), deal)), "deal updated")

    @jwt_required()
    @blp.response(200, envelope(DealSchema))
    def delete(self, deal_id: str) -> dict[str, Any]:
        """Cancel a pending, unpaid deal (buyer only). It is kept, as ``cancelled``."""
        deal = deals.cancel_deal(ctx(), current_user(), deal_id)
        return ok(deal_view(deal, deals.timeline(ctx(), deal)), "deal cancelled")


@blp.route("/<deal_id>/pay")
class Pay(MethodView):
    @jwt_required()
    @blp.arguments(PayIn)
    @blp.response(202, envelope(PaymentSchema))
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any], deal_id: str) -> dict[str, Any]:
        """Start an M-Pesa STK push for the deal; the same key and body return the same payment."""
        payment = payments.request_payment(
            ctx(), current_user(), deal_id, body["phone"], idempotency_key(),
            request_fingerprint(body),
        )
        return ok(payment_view(payment), "payment queued")


@blp.route("/<deal_id>/payments")
class DealPayments(MethodView):
    @jwt_required()
    @blp.response(200, envelope(PaymentSchema, many=True))
    def get(self, deal_id: str) -> dict[str, Any]:
        """Every payment attempt for the deal, oldest first."""
        found = payments.payments_of(ctx(), current_user(), deal_id)
        return ok([payment_view(p) for p in found])


@blp.route("/<deal_id>/ledger")
class DealLedger(MethodView):
    @jwt_required()
    @blp.response(200, envelope(LedgerOut))
    def get(self, deal_id: str) -> dict[str, Any]:
        """The ledger postings that moved this deal's money, with per-account totals."""
        return ok(deal_ledger(ctx(), current_user(), deal_id))
