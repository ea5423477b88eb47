"""Swagger UI and ReDoc render from this host alone: every script and stylesheet a docs page
names is served here, on loopback, and is the real thing (not a stub, not a CDN's)."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.stack import Stack

ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)
ANY_URL = re.compile(r"""(?:src|href|spec-url|data-spec-url)=["']([^"']+)["']""", re.I)


def _page(stack: Stack, path: str) -> tuple[str, list[str]]:
    response = requests.get(stack.api + path, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    return page, [urljoin(stack.api + path, url) for url in ASSET.findall(page)]


@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_a_docs_page_names_no_url_off_this_host(stack: Stack, path: str) -> None:
    page, _ = _page(stack, path)
    urls = [urljoin(stack.api + path, url) for url in ANY_URL.findall(page)]
    assert urls, page
    host = urlsplit(stack.api).netloc
    assert [u for u in urls if urlsplit(u).netloc != host] == []
    assert "http://" not in page.replace(stack.api, "") and "https://" not in page


@pytest.mark.parametrize(("path", "needed"), [
    ("/api/docs", {"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                   "swagger-ui.css", "swagger-init.js"}),
    ("/api/redoc", {"redoc.standalone.js"}),
])
def test_every_asset_of_a_docs_page_is_served_locally(stack: Stack, path: str,
                                                      needed: set[str]) -> None:
    _, assets = _page(stack, path)
    assert {url.rsplit("/", 1)[-1] for url in assets} == needed
    for url in assets:
        response = requests.get(url, timeout=10)
        assert response.status_code == 200, url
        body = response.text
        if url.endswith(".js"):
            assert "javascript" in response.headers["Content-Type"], url
            big = "init" not in url
            assert len(body) > (100_000 if big else 200), (url, len(body))
            assert ("SwaggerUI" in body or "Redoc" in body), url
        else:
            assert response.headers["Content-Type"].startswith("text/css"), url
            assert len(body) > 10_000 and ".swagger-ui" in body, url


def test_the_swagger_page_points_at_the_openapi_document_which_is_served(stack: Stack) -> None:
    page, _ = _page(stack, "/api/docs")
    spec_url = re.search(r'data-spec-url="([^"]+)"', page)
    assert spec_url is not None
    spec = requests.get(urljoin(stack.api + "/api/docs", spec_url.group(1)), timeout=10)
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.")


def test_the_docs_pages_keep_to_a_policy_their_assets_satisfy(stack: Stack) -> None:
    for path in ("/api/docs", "/api/redoc"):
        page, _ = _page(stack, path)
        policy = requests.get(stack.api + path, timeout=10).headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-eval" not in policy
        # script-src 'self' without 'unsafe-inline': the pages hold no inline script.
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == [], path


def test_an_unknown_asset_is_404(stack: Stack) -> None:
    for path in ("/api/docs/assets/nowhere/x.js", "/api/docs/assets/swagger-ui/none.js",
                 "/api/docs/assets/swagger-ui/../../../etc/passwd",
                 "/api/docs/assets/swagger-ui/index.html"):
        assert requests.get(stack.api + path, timeout=10).status_code == 404, path
