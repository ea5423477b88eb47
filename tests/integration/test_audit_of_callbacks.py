"""A callback refused for its source lands in the audit trail, in process on the real stores."""

from __future__ import annotations

from adapters.settings import Settings
from api import create_app
from tests.helpers import database
from tests.stack import Stack

BODY = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_audit",
                                 "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}


def test_a_callback_from_outside_the_allow_list_is_refused_and_audited(stack: Stack) -> None:
    name = stack.scratch_db("audit")
    config = Settings(redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
                      mongo_db=name, mpesa_callback_token="tok", socketio_channel=f"a-{name}",
                      mpesa_callback_allowed_ips=("196.201.214.0/24",))
    client, db = create_app(config).test_client(), database(stack).client[name]
    refused = client.post("/api/mpesa/b2c/result/tok", json=BODY,
                          headers={"X-Request-ID": "cb-refused"},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403
    [record] = list(db.audit.find({"requestId": "cb-refused"}))
    assert (record["path"], record["action"], record["ip"]) == (
        "/api/mpesa/b2c/result/<token>", "mpesa.receive_b2c_result", "203.0.113.9")
    assert (record["outcome"], record["status"], record["errorCode"], record["actorRole"]) == (
        "refused", 403, "FORBIDDEN", "anonymous")
    assert "result/tok" not in str(record)  # the route's template only, never the token
