"""``/demo``: served in development and test, under the API's own Content-Security-Policy,
with every asset from this host (the Socket.IO client vendored, its hashes checked), and
never in production, where it is an unknown path. The page itself is driven in a browser by
``tests/browser`` (``make test-browser``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from adapters.settings import Settings
from api import CONTENT_SECURITY_POLICY, create_app
from api.demo import ASSETS
from tests.stack import Stack

ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)
IMPORT = re.compile(r"""^import\b[^"']*["']([^"']+)["']""", re.M)
URL = re.compile(r"""https?://[^\s"'`)]*""")
VENDOR = ASSETS / "vendor" / "socket.io-client"
# What the vendored client's text names: the scheme it prefixes to a host it is given, and the
# docs link of one of its error messages. It loads neither; anything new fails the test.
VENDOR_URLS = {"https://", "https://socket.io/docs/v3/migrating-from-2-x-to-3-0/"}


def _page(stack: Stack) -> requests.Response:
    response = requests.get(f"{stack.api}/demo", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    return response


def _assets(stack: Stack) -> dict[str, requests.Response]:
    """Every file the page names, and every module those scripts import, fetched."""
    page_url = f"{stack.api}/demo"
    named = ASSET.findall(_page(stack).text)
    assert [url for url in named if url.startswith("data:")] == ["data:,"]  # no favicon: empty
    pending = [urljoin(page_url, url) for url in named if not url.startswith("data:")]
    fetched: dict[str, requests.Response] = {}
    while pending:
        url = pending.pop()
        if url in fetched:
            continue
        fetched[url] = response = requests.get(url, timeout=10)
        if url.endswith(".js") and response.ok:
            pending += [urljoin(url, name) for name in IMPORT.findall(response.text)]
    return fetched


def test_the_page_is_served_under_the_apis_content_security_policy(stack: Stack) -> None:
    response = _page(stack)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    page = response.text
    # script-src 'self' and script-src-attr 'none': no inline script, no inline handler.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"\son[a-z]+\s*=", page, re.I) == []
    assert 'data-testid="buyer-panel"' in page and 'data-testid="admin-panel"' in page


def test_every_asset_of_the_page_is_served_from_this_host(stack: Stack) -> None:
    assets = _assets(stack)
    names = {urlsplit(url).path.removeprefix("/demo/assets/") for url in assets}
    assert names == {"demo.css", "demo.js", "dom.js", "session.js", "deal-view.js",
                     "vendor/socket.io-client/socket.io.min.js"}
    host = urlsplit(stack.api).netloc
    for url, response in assets.items():
        assert urlsplit(url).netloc == host, url
        assert response.status_code == 200, url
        kind = "text/css" if url.endswith(".css") else "javascript"
        assert kind in response.headers["Content-Type"], url
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_page_and_its_own_scripts_name_no_other_host(stack: Stack) -> None:
    for url, response in [(f"{stack.api}/demo", _page(stack)), *_assets(stack).items()]:
        found = set(URL.findall(response.text))
        if url.endswith("/vendor/socket.io-client/socket.io.min.js"):
            assert found <= VENDOR_URLS, found - VENDOR_URLS
        else:
            assert found == set(), (url, found)


def test_the_scripts_never_write_html() -> None:
    """Server data is shown with textContent and text nodes only (dom.js)."""
    for script in ASSETS.glob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                     "localStorage", "sessionStorage"):
            assert sink not in text, (script.name, sink)


def test_the_vendored_socketio_client_is_the_one_its_readme_records() -> None:
    readme = (VENDOR / "README.md").read_text()
    recorded = dict(re.findall(r"^\| (\S+) \| `([0-9a-f]{64})` \|$", readme, re.M))
    assert set(recorded) == {"socket.io.min.js", "socket.io.min.js.map", "LICENSE"}
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    version = re.search(r"^\| version \| (\S+) ", readme, re.M)
    assert version is not None
    assert f"Socket.IO v{version.group(1)}" in (VENDOR / "socket.io.min.js").read_text()[:200]
    assert re.search(r"`sha512-[A-Za-z0-9+/]{86}==`", readme)
    assert "MIT License" in (VENDOR / "LICENSE").read_text()


def test_an_unknown_or_outside_asset_is_404(stack: Stack) -> None:
    for path in ("/demo/assets/nowhere.js", "/demo/assets/index.html",
                 "/demo/assets/../demo.py", "/demo/assets/%2e%2e/demo.py",
                 "/demo/assets/vendor/../../demo.py"):
        assert requests.get(stack.api + path, timeout=10).status_code == 404, path


def test_the_demo_is_not_in_the_openapi_document(stack: Stack) -> None:
    paths = requests.get(f"{stack.api}/api/openapi.json", timeout=10).json()["paths"]
    assert [p for p in paths if p.startswith("/demo")] == []


def test_the_page_has_one_address_however_its_file_is_spelled(stack: Stack) -> None:
    """A client that sends dot segments as they are (requests and browsers remove them)."""
    settings = Settings(app_env="test", mongo_url=stack.env["MONGO_URL"],
                        mongo_db=stack.env["MONGO_DB"], redis_url=stack.env["REDIS_URL"])
    client = create_app(settings).test_client()
    assert client.get("/demo/assets/demo.js").status_code == 200
    for path in ("/demo/assets/index.html/.", "/demo/assets/vendor/../index.html",
                 "/demo/assets/./index.html"):
        assert client.get(path).status_code == 404, path


@pytest.fixture(scope="module")
def production(stack: Stack) -> Iterator[FlaskClient]:
    settings = Settings(app_env="production", mongo_url=stack.env["MONGO_URL"],
                        mongo_db=stack.scratch_db("demo_production"),
                        redis_url=stack.env["REDIS_URL"])
    yield create_app(settings).test_client()


def _answer(client: FlaskClient, path: str) -> tuple[int, object, str]:
    response = client.get(path)
    body = response.get_json()
    assert isinstance(body, dict), path
    body.pop("timestamp", None)
    body.get("error", {}).pop("requestId", None)
    return response.status_code, body, response.headers["Content-Type"]


def test_production_answers_the_demo_exactly_as_an_unknown_path(
    production: FlaskClient,
) -> None:
    unknown = _answer(production, "/no-such-page")
    assert unknown[0] == 404
    for path in ("/demo", "/demo/", "/demo/assets/demo.js",
                 "/demo/assets/vendor/socket.io-client/socket.io.min.js"):
        assert _answer(production, path) == unknown, path
    assert not any(rule.rule.startswith("/demo")
                   for rule in production.application.url_map.iter_rules())

