"""Swagger UI and ReDoc from local assets (the pinned ``openapi-ui-bundles`` package), so that
``/api/docs`` and ``/api/redoc`` render with no internet access and under our CSP."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, send_from_directory
from flask.typing import ResponseReturnValue
from openapi_ui_bundles import redoc, swagger_ui

from api.limits import limiter

ASSETS = "/api/docs/assets"
SWAGGER_UI_URL = f"{ASSETS}/swagger-ui/"  # flask-smorest appends swagger-ui-bundle.js etc.
REDOC_URL = f"{ASSETS}/redoc/redoc.standalone.js"
FOLDERS = {
    "swagger-ui": Path(swagger_ui.static_path),
    "redoc": Path(redoc.static_path),
    "app": Path(__file__).parent / "docs_assets",  # our own: Swagger UI's start-up script
}
MAX_AGE_S = 86_400

blp = Blueprint("docs_assets", __name__, url_prefix=ASSETS)


@blp.route("/<bundle>/<path:filename>")
@limiter.exempt
def asset(bundle: str, filename: str) -> ResponseReturnValue:
    folder = FOLDERS.get(bundle)
    if folder is None or filename.endswith(".html"):
        abort(404)
    return send_from_directory(folder, filename, max_age=MAX_AGE_S)
