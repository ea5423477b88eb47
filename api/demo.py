"""``/demo``: one page that drives a whole deal in a browser (buyer, seller and admin side by
side, live over Socket.IO). Development and test only: ``create_app`` does not register this
blueprint in production, so there ``/demo`` is an unknown path. Not part of the JSON API, so
not in the OpenAPI document: plain HTML, CSS and JavaScript served from ``demo_assets/``, no
build step, under the API's Content-Security-Policy (no inline script or handler)."""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import Blueprint, abort, send_from_directory
from flask.typing import ResponseReturnValue

from api.limits import limiter

ASSETS = Path(__file__).parent / "demo_assets"

blp = Blueprint("demo", __name__, url_prefix="/demo")


@blp.route("")
@limiter.exempt
def page() -> ResponseReturnValue:
    return send_from_directory(ASSETS, "index.html", mimetype="text/html")


@blp.route("/assets/<path:filename>")
@limiter.exempt
def asset(filename: str) -> ResponseReturnValue:
    if posixpath.normpath(filename).endswith(".html"):  # the page has one address (index.html/.)
        abort(404)
    return send_from_directory(ASSETS, filename)
