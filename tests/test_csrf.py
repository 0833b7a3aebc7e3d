"""Same-origin writes only, Host allow-list, headers on every answer (app/csrf.py, app/security.py, app/limits.py).

Each refusal is checked on every state-changing route the app has (found from the router, so a new route
is covered the day it is added), and "refused" always means the database is byte-for-byte unchanged.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from app.config import settings
from app.csrf import form_token, is_api_path, origin_matches
from app.security import CONTENT_SECURITY_POLICY, allowed_hosts, normalise_host
from tests.utils.csrf import JSON, hx, with_csrf
from tests.utils.routes import walk_routes

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def write_routes() -> list[tuple[str, str]]:
    """(method, path template) of every state-changing route."""
    found = {
        (method, route.path)
        for route in walk_routes()
        for method in getattr(route, "methods", None) or ()
        if method in UNSAFE
    }
    return sorted(found)


WRITE_ROUTES = write_routes()
FORM_ROUTES = [r for r in WRITE_ROUTES if not is_api_path(r[1])]
API_ROUTES = [r for r in WRITE_ROUTES if is_api_path(r[1])]


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table: equal before and after means the request wrote nothing."""
    with Session(engine) as s:
        return {t.name: sorted(map(tuple, s.exec(select(t)).all()), key=repr) for t in SQLModel.metadata.sorted_tables}


@pytest.fixture
def live(client) -> dict[str, str]:
    """Ids that exist, so a refused request would otherwise have reached real rows: a practice mock
    interview with an answered question, and a drill card on show."""
    mock = client.post("/api/mock-sessions", json={"count": 3, "seed": 7, "practice": True}).json()
    qid = mock["current"]["question_id"]
    client.post(f"/api/mock-sessions/{mock['id']}/answers", json={"question_id": qid, "text": "softmax 缩放"})
    card = client.get("/api/drill/next").json()
    return {"mock_id": str(mock["id"]), "question_id": qid, "review_token": card["review_token"], "slug": "softmax"}


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def form_body(path: str, ids: dict[str, str]) -> dict[str, str]:
    """Fields a real form on that page would send (enough for the handler to write if it were let through)."""
    if path == "/settings":
        return {"desired_retention": "0.8", "new_per_day": "3", "interview_date": ""}
    if path.startswith("/drill"):
        return {"question_id": "q01", "review_token": ids["review_token"], "rating": "3", "answer": "softmax"}
    if path == "/mock":
        return {"count": "3", "selection": "random", "seconds": ""}
    if path.startswith("/code"):  # a run, a solution view, a rating of the exercise's card
        return {"code": "x = 1", "request_id": "run-csrf-000001", "rating": "3", "review_token": ids["review_token"]}
    return {"question_id": ids["question_id"], "text": "缩放", "rating": "3", "index": "0", "verdict": "covered"}


def test_every_write_route_is_classified():
    # the families the issue names are all here (so "every route" below means something)
    assert ("POST", "/api/import") in API_ROUTES and ("PUT", "/api/settings") in API_ROUTES
    assert ("POST", "/api/drill/undo") in API_ROUTES and ("POST", "/api/mock-sessions/{mock_id}/finish") in API_ROUTES
    assert {("POST", "/settings"), ("POST", "/settings/import"), ("POST", "/drill/grade"), ("POST", "/mock")} <= set(
        FORM_ROUTES
    )
    assert len(FORM_ROUTES) >= 12 and len(API_ROUTES) >= 14


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port on localhost is same-site, not same-origin
        {"Origin": "http://evil.example"},
        {"Origin": "http://testserver:8080"},
        {"Origin": "https://testserver"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://evil.example"},
    ],
    ids=["fetch-cross-site", "fetch-same-site", "origin-other", "origin-port", "origin-scheme", "origin-null", "both"],
)
def test_cross_site_writes_are_refused_on_every_route_and_write_nothing(client, engine, live, headers):
    before = snapshot(engine)
    for method, path in WRITE_ROUTES:
        url = fill(path, live)
        if is_api_path(path):
            # everything else right (JSON type, valid token): only the origin check stands in the way
            r = client.request(method, url, content=b"{}", headers={**JSON, **hx(), **headers})
            assert r.status_code == 403, (method, path, r.status_code)
            assert r.json()["detail"].startswith("跨站请求被拒绝"), path
        else:
            r = client.request(method, url, data=with_csrf(form_body(path, live)), headers={**hx(), **headers})
            assert r.status_code == 403, (method, path, r.status_code)
            assert "跨站请求被拒绝" in r.text and r.headers["content-type"].startswith("text/html"), path
        assert r.headers["x-frame-options"] == "DENY"
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({"Sec-Fetch-Site": "same-origin"}, "http://testserver"),
        ({"Sec-Fetch-Site": "none"}, "http://testserver"),
        ({"Sec-Fetch-Site": "same-origin"}, "null"),  # Chromium under a no-referrer policy
        ({}, "http://testserver:80"),
        ({}, None),  # curl, scripts
    ],
)
def test_same_origin_and_headerless_writes_go_through(client, engine, headers, origin):
    origin = {"Origin": origin} if origin else {}
    r = client.post("/settings", data=with_csrf(new_per_day="4", desired_retention="0.9"), headers=headers | origin)
    assert r.status_code in (200, 303), r.text[:300]
    assert client.get("/api/settings").json()["new_per_day"] == 4
    r = client.put("/api/settings", json={"new_per_day": 6}, headers=headers | origin)
    assert r.status_code == 200 and r.json()["new_per_day"] == 6


@pytest.mark.parametrize("token", [None, "", "0" * 64, "forged"], ids=["missing", "empty", "wrong", "short"])
def test_form_routes_without_a_valid_token_are_refused_and_write_nothing(client, engine, live, token):
    before = snapshot(engine)
    for method, path in FORM_ROUTES:
        data = form_body(path, live) | ({} if token is None else {"csrf_token": token})
        r = client.request(method, fill(path, live), data=data, follow_redirects=False)
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
        assert "CSRF 令牌缺失或无效" in r.text
        # the htmx way: a wrong header is refused too, whatever the form says
        if token:
            r = client.request(method, fill(path, live), data=with_csrf(data), headers={"X-CSRF-Token": token})
            assert r.status_code == 403, path
    assert snapshot(engine) == before


def test_an_enctype_text_plain_form_is_refused(client, engine):
    """`<form enctype="text/plain">` is the one body type a cross-site form can send besides the two form types."""
    before = snapshot(engine)
    body = f"csrf_token={form_token()}&new_per_day=1".encode()
    r = client.post("/settings", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 403
    assert snapshot(engine) == before


def test_the_form_token_goes_through_forms_multipart_and_htmx(client, engine):
    r = client.post("/settings", data=with_csrf(new_per_day="2", desired_retention="0.9"), follow_redirects=False)
    assert r.status_code in (200, 303)
    assert client.get("/api/settings").json()["new_per_day"] == 2
    r = client.post("/drill/undo", headers=hx())  # htmx sends the header, no field
    assert r.status_code != 403
    exported = client.get("/api/export").content
    r = client.post("/settings/import", data=with_csrf(), files={"file": ("b.json", exported, "application/json")})
    assert r.status_code == 200 and "已导入" in r.text


def test_every_post_form_on_every_page_carries_the_token(client, live):
    pages = ["/settings", "/drill", "/mock", "/mock/history", f"/mock/{live['mock_id']}", "/", "/stats"]
    card = client.get("/drill").text
    revealed = client.post(
        "/drill/reveal",
        data=with_csrf(question_id="q01", review_token=live["review_token"], answer="x"),
        headers=hx(),
    ).text
    seen = 0
    for html in [client.get(p).text for p in pages] + [card, revealed]:
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, flags=re.S):
            if 'method="post"' in form.split(">", 1)[0]:
                seen += 1
                assert f'<input type="hidden" name="csrf_token" value="{form_token()}">' in form, form[:200]
        assert f'<meta name="csrf-token" content="{form_token()}">' in html or "<html" not in html
    assert seen >= 8  # settings ×2, mock setup, answer, finish, discard, drill reveal, grade …


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_api_writes_take_json_only(client, engine, live, ctype):
    before = snapshot(engine)
    for method, path in API_ROUTES:
        r = client.request(method, fill(path, live), content=b'{"text": "a"}', headers={"content-type": ctype, **hx()})
        assert r.status_code == 415, (path, r.status_code)
        assert r.json()["detail"].startswith("只接受 Content-Type: application/json")
    assert snapshot(engine) == before


def test_a_no_cors_style_text_plain_import_cannot_replace_the_log(client, engine):
    """The attack from the issue: a cross-site `fetch(…, {mode: "no-cors", body: exportJson})` sends text/plain."""
    client.put("/api/settings", json={"new_per_day": 7})
    wipe = json.dumps({"format": "transformer-prep-drill", "version": 1, "settings": {}, "cards": [], "reviews": []})
    before = snapshot(engine)
    r = client.post("/api/import", content=wipe, headers={"content-type": "text/plain;charset=UTF-8"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert snapshot(engine) == before


def test_bodiless_api_posts_need_the_json_type_or_the_token_header(client, engine):
    card = client.get("/api/drill/next").json()
    client.post("/api/drill/reviews", json={"question_id": "q01", "rating": 3, "review_token": card["review_token"]})
    before = snapshot(engine)
    r = client.post("/api/drill/undo")  # what a cross-site no-cors fetch can send
    assert r.status_code == 415 and "无请求体的 POST 也需要" in r.json()["detail"]
    r = client.post("/api/drill/undo", headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403
    assert snapshot(engine) == before
    assert client.post("/api/drill/undo", headers={"X-CSRF-Token": form_token()}).status_code == 200
    assert client.get("/api/export").json()["reviews"] == []
    # a body without the JSON type is refused even with the token
    r = client.put("/api/settings", content=b'{"new_per_day": 1}', headers={"X-CSRF-Token": form_token()})
    assert r.status_code == 415


# ---------------------------------------------------------------- Host allow-list


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "[::2]", "", "a b"])
def test_a_host_outside_the_allow_list_is_400_before_routing(client, engine, host):
    before = snapshot(engine)
    for method, path in [("GET", "/api/export"), ("GET", "/settings"), ("PUT", "/api/settings")]:
        r = client.request(method, path, headers={"Host": host, **JSON}, content=b'{"new_per_day": 1}')
        assert r.status_code == 400, (host, path)
        assert "不允许的 Host" in r.text and "reviews" not in r.text and form_token() not in r.text
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:9000", "[::1]:8000", "LOCALHOST.", "testserver"]
)
def test_allowed_hosts_are_served(client, host):
    assert client.get("/api/export", headers={"Host": host}).status_code == 200


def test_allowed_hosts_setting_and_the_served_address(client, monkeypatch):
    monkeypatch.setattr(settings, "ALLOWED_HOSTS", "192.168.1.20,mybox.local")
    assert client.get("/healthz", headers={"Host": "mybox.local:8000"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "192.168.1.20"}).status_code == 200
    assert client.get("/healthz", headers={"Host": "localhost"}).status_code == 200  # loopback always
    assert client.get("/healthz", headers={"Host": "testserver"}).status_code == 400
    monkeypatch.setattr(settings, "SERVE_HOST", "10.0.0.5")  # `make run HOST=10.0.0.5`
    assert client.get("/healthz", headers={"Host": "10.0.0.5:8000"}).status_code == 200
    monkeypatch.setattr(settings, "SERVE_HOST", "0.0.0.0")  # a wildcard bind names no host
    assert client.get("/healthz", headers={"Host": "0.0.0.0"}).status_code == 400
    monkeypatch.setattr(settings, "ALLOWED_HOSTS", "*")
    assert client.get("/healthz", headers={"Host": "anything.example"}).status_code == 200


def test_default_allowed_hosts_are_loopback_only():
    from app.config import Settings

    default = Settings.model_fields["ALLOWED_HOSTS"].default
    assert allowed_hosts(default, "") == frozenset({"localhost", "127.0.0.1", "[::1]"})
    assert allowed_hosts(default, "0.0.0.0") == allowed_hosts(default, "::") == allowed_hosts(default, "")
    assert "192.168.1.20" in allowed_hosts(default, "192.168.1.20")


def test_allowed_hosts_rejects_urls_at_start_up():
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="ALLOWED_HOSTS entry 'http://mybox.local' must be a bare host"):
        Settings(ALLOWED_HOSTS="localhost,http://mybox.local")


def test_host_and_origin_parsing():
    assert normalise_host("[::1]:8000") == "[::1]" and normalise_host("::1") == "[::1]"
    assert normalise_host("Example.COM.:80") == "example.com"
    assert normalise_host("[::1") is None and normalise_host("[zz]") is None
    assert origin_matches("http://localhost:8000", "http", "localhost:8000")
    assert origin_matches("http://localhost", "http", "localhost:80")
    assert origin_matches("https://box.local", "https", "box.local:443")
    assert not origin_matches("http://localhost:8001", "http", "localhost:8000")
    assert not origin_matches("http://localhost:8000/path", "http", "localhost:8000")
    assert not origin_matches("null", "http", "localhost")
    assert not origin_matches("http://localhost:99999", "http", "localhost:99999")


# ---------------------------------------------------------------- headers and body size


def test_413_carries_the_security_headers(client):
    r = client.post("/api/attention", content=b"x" * 3_000_000, headers=JSON)
    assert r.status_code == 413 and r.json()["detail"].startswith("请求体过大")
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        yield b"a" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/api/attention", "application/json"),
        ("/api/settings", "application/json"),
        ("/settings", "application/x-www-form-urlencoded"),  # one 3 MB field: the parser stops at 1 MB
        ("/mock", "application/x-www-form-urlencoded"),
    ],
)
def test_a_chunked_oversize_body_is_413(client, engine, path, ctype):
    before = snapshot(engine)
    method = "PUT" if path == "/api/settings" else "POST"
    headers = {"content-type": ctype, "X-CSRF-Token": form_token()}
    r = client.request(method, path, content=_chunks(3_000_000), headers=headers)  # no Content-Length
    assert r.status_code == 413, (path, r.status_code, r.text[:200])
    assert r.headers["x-frame-options"] == "DENY"
    assert snapshot(engine) == before


def test_a_chunked_body_under_the_limit_is_served(client):
    body = json.dumps({"new_per_day": 9}).encode()
    r = client.put("/api/settings", content=iter([body[:5], body[5:]]), headers=JSON)
    assert r.status_code == 200 and r.json()["new_per_day"] == 9


def test_api_docs_run_under_the_csp_and_send_the_token(client):
    r = client.get("/docs")
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert re.search(r"<script>|\son\w+=", r.text) is None  # nothing inline that the policy would block
    assert f'<meta name="csrf-token" content="{form_token()}">' in r.text
    from pathlib import Path

    init = (Path(__file__).resolve().parent.parent / "static/js/swagger-init.js").read_text(encoding="utf-8")
    assert "X-CSRF-Token" in init and "requestInterceptor" in init


@pytest.mark.parametrize("path", ["/drill", "/settings", "/api/export", "/api/drill/next", "/api/drill/cards"])
def test_data_and_token_pages_are_not_cached(client, path):
    assert client.get(path).headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/questions", "/notes", "/static/css/app.css"])
def test_other_pages_keep_their_caching(client, path):
    assert client.get(path).headers.get("cache-control") != "no-store"


def test_a_crash_still_carries_the_headers():
    """Starlette's error middleware sits outside ours: without the catch, a 500 would go out bare."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.security import SecurityHeadersMiddleware

    def boom(request):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    crashing = Starlette(routes=[Route("/boom", boom)])
    crashing.add_middleware(SecurityHeadersMiddleware)
    with TestClient(crashing, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
