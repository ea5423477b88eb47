"""HTTP routes: the Daraja endpoints and the sandbox's own control endpoints."""

from __future__ import annotations

import json

from flask import Blueprint, Response, g, request
from flask.typing import ResponseReturnValue

from sandbox.auth import authenticate_client
from sandbox.business_requests import PayoutVersion, parse_payout, parse_reversal, parse_status
from sandbox.payloads import push_accepted
from sandbox.state import Sandbox
from sandbox.validation import parse_push, parse_query

OAUTH_PATH = "/oauth/v1/generate"
STK_PUSH_PATH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY_PATH = "/mpesa/stkpushquery/v1/query"
B2C_V1_PATH = "/mpesa/b2c/v1/paymentrequest"
B2C_V3_PATH = "/mpesa/b2c/v3/paymentrequest"
B2C_PATHS = (B2C_V1_PATH, B2C_V3_PATH)
TRANSACTION_STATUS_PATH = "/mpesa/transactionstatus/v1/query"
REVERSAL_PATH = "/mpesa/reversal/v1/request"
CONTROL_PREFIX = "/sandbox"
PEM_MIMETYPE = "application/x-pem-file"


def request_json() -> object | None:
    """The request body parsed as JSON whatever its content type; None if it is not JSON."""
    try:
        parsed: object = json.loads(request.get_data(cache=True))
    except ValueError:
        return None
    return parsed


def daraja_blueprint(sandbox: Sandbox) -> Blueprint:
    blueprint = Blueprint("daraja", __name__)

    def business_call_body() -> object | None:
        sandbox.tokens.require_bearer(request.headers.get("Authorization"))
        sandbox.inject_fault()
        return request_json()

    @blueprint.get(OAUTH_PATH)
    def generate_token() -> ResponseReturnValue:
        sandbox.inject_oauth_fault()  # the OAuth service is down: it checks nothing
        authorization = request.headers.get("Authorization")
        authenticate_client(authorization, request.args.get("grant_type"), sandbox.config)
        return {"access_token": sandbox.tokens.issue(), "expires_in": sandbox.config.expires_in}

    @blueprint.post(STK_PUSH_PATH)
    def stk_push() -> ResponseReturnValue:
        push = sandbox.push(parse_push(business_call_body(), sandbox.config))
        g.checkout_request_id = push.checkout_request_id
        return push_accepted(push)

    @blueprint.post(STK_QUERY_PATH)
    def stk_query() -> ResponseReturnValue:
        return sandbox.query(parse_query(business_call_body(), sandbox.config))

    def b2c_payment(version: PayoutVersion) -> ResponseReturnValue:
        body = business_call_body()
        answer = sandbox.pay_out(parse_payout(body, version, sandbox.config, sandbox.keys))
        g.originator_conversation_id = answer["OriginatorConversationID"]
        return answer

    @blueprint.post(B2C_V1_PATH)
    def b2c_v1() -> ResponseReturnValue:
        return b2c_payment("v1")

    @blueprint.post(B2C_V3_PATH)
    def b2c_v3() -> ResponseReturnValue:
        return b2c_payment("v3")

    @blueprint.post(TRANSACTION_STATUS_PATH)
    def transaction_status() -> ResponseReturnValue:
        body = business_call_body()
        return sandbox.transaction_status(parse_status(body, sandbox.config, sandbox.keys))

    @blueprint.post(REVERSAL_PATH)
    def reversal() -> ResponseReturnValue:
        body = business_call_body()
        return sandbox.reverse(parse_reversal(body, sandbox.config, sandbox.keys))

    return blueprint


def control_blueprint(sandbox: Sandbox) -> Blueprint:
    blueprint = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)

    @blueprint.get("/health")
    def health() -> ResponseReturnValue:
        return {"status": "ok"}

    @blueprint.get("/certificate")
    def certificate() -> ResponseReturnValue:
        """The certificate whose public key encrypts SecurityCredentials (PEM)."""
        return Response(sandbox.keys.certificate_pem, mimetype=PEM_MIMETYPE)

    @blueprint.get("/requests")
    def requests_received() -> ResponseReturnValue:
        entries = sandbox.requests.entries(request.args.get("path"), request.args.get("phone"))
        return {"items": [entry.to_json() for entry in entries]}

    @blueprint.get("/in-flight")
    def requests_in_flight() -> ResponseReturnValue:
        """Daraja requests received and not yet answered (path, phone), for tests."""
        return {"items": sandbox.requests.in_flight(request.args.get("path"),
                                                    request.args.get("phone"))}

    @blueprint.get("/callbacks")
    def callback_attempts() -> ResponseReturnValue:
        return {"items": [attempt.to_json() for attempt in sandbox.callbacks.attempts()]}

    @blueprint.post("/reset")
    def reset() -> ResponseReturnValue:
        """Clear transactions, callbacks (pending and recorded) and the request log.

        Tokens and the key pair survive.
        """
        sandbox.reset()
        return {"status": "ok"}

    return blueprint
