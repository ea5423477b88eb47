"""``/api/payments/{id}``: one payment attempt, for the parties and admins."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from adapters.presenters import PaymentSchema, payment_view
from api.deps import ctx, current_user
from api.envelope import envelope, ok
from domain.services import payments

blp = Blueprint("payments", __name__, url_prefix="/api/payments", description="M-Pesa payments")


@blp.route("/<payment_id>")
class OnePayment(MethodView):
    @jwt_required()
    @blp.response(200, envelope(PaymentSchema))
    def get(self, payment_id: str) -> dict[str, Any]:
        """A payment, its status and M-Pesa receipt; the phone is masked."""
        return ok(payment_view(payments.visible_payment(ctx(), current_user(), payment_id)))
