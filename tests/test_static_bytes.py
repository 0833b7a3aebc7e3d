"""Bytes on the wire: versioned static URLs served immutable, gzip for large answers (headers intact, exports
too), and KaTeX fetched only where there is math."""

from __future__ import annotations

import re

from app.security import CONTENT_SECURITY_POLICY
from app.static_files import IMMUTABLE, file_version


def test_pages_link_static_files_by_content_version_and_those_urls_are_immutable(client) -> None:
    html = client.get("/").text
    url = re.search(r'href="(/static/css/app\.css\?v=([0-9a-f]{12}))"', html)
    assert url, "app.css is linked with its content version"
    assert url.group(2) == file_version("css/app.css")
    versioned = client.get(url.group(1))
    assert versioned.status_code == 200 and versioned.headers["cache-control"] == IMMUTABLE
    assert versioned.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert client.get("/static/css/app.css?v=000000000000").headers["cache-control"] == "no-cache"  # stale
    assert client.get("/static/css/app.css").headers["cache-control"] == "no-cache"
    assert client.get("/static/css/nothing-here.css?v=1").status_code == 404


def test_katex_is_not_loaded_by_pages_but_fetched_by_app_js_when_math_appears(client) -> None:
    html = client.get("/stats").text
    assert not re.search(r"<(script|link)[^>]+katex", html)  # neither script nor stylesheet up front
    meta = re.search(r'<meta name="katex" data-css="([^"]+)" data-js="([^"]+)">', html)
    assert meta and all(client.get(u).headers["cache-control"] == IMMUTABLE for u in meta.groups())
    assert "loadKatex" in client.get("/static/js/app.js").text


def test_large_answers_are_gzipped_with_every_header_kept(client) -> None:
    gz = {"Accept-Encoding": "gzip"}
    page = client.get("/questions", headers=gz)
    assert page.headers["content-encoding"] == "gzip" and "题库" in page.text  # the client decompresses
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    drill = client.get("/drill", headers=gz)
    assert drill.headers["cache-control"] == "no-store" and drill.headers["x-frame-options"] == "DENY"
    plain = client.get("/questions", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == page.text
    for _ in range(4):  # a few reviews: an export over the 1 KB compression threshold
        card = client.get("/api/drill/next").json()
        body = {"question_id": card["question_id"], "rating": 3, "review_token": card["review_token"]}
        assert client.post("/api/drill/reviews", json=body).status_code == 201
    export = client.get("/api/export", headers=gz)
    assert export.status_code == 200 and export.headers["content-encoding"] == "gzip"
    assert "attachment" in export.headers["content-disposition"] and "reviews" in export.json()
    assert "content-encoding" not in client.get("/healthz", headers=gz).headers  # tiny: not worth compressing


def test_every_page_links_its_static_files_by_content_version(client) -> None:
    for path in ("/", "/questions", "/drill", "/mock", "/stats", "/settings", "/notes", "/code", "/code/softmax",
                 "/calculators", "/questions/q35"):  # fmt: skip
        html = client.get(path).text
        plain = re.findall(r'(?:href|src)="(/static/[^"?]+)"', html)
        assert plain == [], f"{path} links {plain} without ?v= (not cacheable as immutable)"
