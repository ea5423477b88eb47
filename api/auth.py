"""Register, sign in, rotate and revoke tokens; read and edit one's own profile."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import get_jwt, jwt_required
from flask_smorest import Blueprint

from adapters.presenters import UserSchema
from api import tokens
from api.deps import ctx, current_user, fresh_user, login_attempts, proof, without_password
from api.envelope import MessageSchema, envelope, ok
from api.limits import auth_limit
from api.schemas import (
    LoginIn,
    LogoutIn,
    PasswordChangeIn,
    ProfileIn,
    RegisterIn,
    SessionOut,
    TokensOut,
)
from domain.services import accounts

blp = Blueprint("auth", __name__, url_prefix="/api", description="Accounts and tokens")


def _session(user: Any) -> dict[str, Any]:
    """A new family of tokens, the access token fresh: the password was just given."""
    return {"user": user, **tokens.issue(user, fresh=True)}


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [auth_limit]

    @blp.arguments(RegisterIn)
    @blp.response(201, envelope(SessionOut))
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a buyer or seller account (admins are made by operators)."""
        user = accounts.register(ctx(), body["email"], body["password"], body["firstName"],
                                 body["lastName"], body["role"], body.get("phone"))
        return ok(_session(user), "account created")


@blp.route("/auth/login")
class Login(MethodView):
    decorators = [auth_limit]

    @blp.arguments(LoginIn)
    @blp.response(200, envelope(SessionOut))
    @blp.alt_response(401, response="UNAUTHORIZED",
                      description="wrong email or password, or the account is locked")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange email and password for an access and a refresh token."""
        user = accounts.authenticate(ctx(), body["email"], body["password"], login_attempts())
        return ok(_session(user))


@blp.route("/auth/refresh")
class Refresh(MethodView):
    decorators = [auth_limit]

    @jwt_required(refresh=True)
    @blp.response(200, envelope(TokensOut))
    def post(self) -> dict[str, Any]:
        """Send the refresh token as Bearer; get a new pair. The old one stops working."""
        return ok(tokens.rotate(get_jwt(), fresh_user()))


@blp.route("/auth/logout")
class Logout(MethodView):
    @jwt_required()
    @blp.arguments(LogoutIn, required=False)
    @blp.response(200, envelope(MessageSchema))
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """End this session: the presented access token and every token of its family (the
        refresh token, if given, too)."""
        tokens.revoke(get_jwt())
        tokens.revoke_family(get_jwt())
        if body.get("refreshToken"):
            tokens.revoke_encoded(body["refreshToken"], str(get_jwt()["sub"]))
        return ok({}, "signed out")


@blp.route("/auth/logout-all")
class LogoutAll(MethodView):
    @jwt_required()
    @blp.response(200, envelope(MessageSchema))
    def post(self) -> dict[str, Any]:
        """Log out everywhere: every token of yours issued until now stops working."""
        tokens.revoke_sessions(current_user().id)
        return ok({}, "signed out everywhere")


@blp.route("/users/me")
class Me(MethodView):
    @jwt_required()
    @blp.response(200, envelope(UserSchema))
    def get(self) -> dict[str, Any]:
        """Your profile (never the password hash)."""
        return ok(current_user())

    @jwt_required()
    @blp.arguments(ProfileIn)
    @blp.response(200, envelope(UserSchema))
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change your name or phone. A new phone needs a fresh sign-in or ``password``."""
        user = current_user()
        accounts.prove_for_phone(ctx(), user, body.get("phone", user.phone), proof(body),
                                 login_attempts())
        updated = accounts.update_profile(ctx(), user.id, without_password(body))
        return ok(updated, "profile updated")


@blp.route("/users/me/password")
class Password(MethodView):
    decorators = [auth_limit]

    @jwt_required()
    @blp.arguments(PasswordChangeIn)
    @blp.response(200, envelope(TokensOut))
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change your password: every session ends (sockets too); you get new tokens."""
        user = accounts.change_password(ctx(), current_user().id, body["currentPassword"],
                                        body["newPassword"], login_attempts(),
                                        end_sessions=tokens.revoke_sessions)
        return ok(tokens.issue(user, fresh=True), "password changed; every other session ended")
