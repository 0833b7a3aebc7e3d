"""A hostile website in a real Chromium cannot change the learner's data, and a rebinding name reads nothing.

A second local server (another origin) serves an attacker page that auto-submits forms at the app, sends
no-cors fetches and a preflighted PUT, and loads app URLs as images. The learner's data, read back
through the API, is the same before and after; every attack that reached the server was answered
403/415. The app's own pages still write (real form, htmx) from the same browser.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, screenshot

pytestmark = pytest.mark.browser

JSON = {"content-type": "application/json"}
ATTACKER_NAME = "attacker.test"  # a different site, mapped to this machine by Chromium's resolver
REBIND_NAME = "evil.example"  # DNS rebinding: a hostile name that resolves to 127.0.0.1

WIPE = {
    "format": "transformer-prep-drill",
    "version": 1,
    "settings": {"desired_retention": 0.7, "new_per_day": 0, "interview_date": None},
    "cards": [],
    "reviews": [],
}

ATTACK_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>free prizes</title></head><body>
<h1>看看这个 · totally harmless</h1>
<iframe name="s1"></iframe><iframe name="s2"></iframe><iframe name="s3"></iframe><iframe name="s4"></iframe>
<iframe name="s5"></iframe><iframe name="s6"></iframe><iframe name="s7"></iframe>
<form method="post" action="{app}/settings" target="s1">
  <input name="desired_retention" value="0.7"><input name="new_per_day" value="0"><input name="interview_date" value="">
  <input name="csrf_token" value="{guess}">
</form>
<form method="post" action="{app}/drill/grade" target="s2">
  <input name="question_id" value="q01"><input name="review_token" value="{review_token}">
  <input name="rating" value="1">
</form>
<form method="post" action="{app}/api/import" enctype="text/plain" target="s3">
  <input name='{wipe_head}' value='"}}'>
</form>
<form method="post" action="{app}/mock" target="s4">
  <input name="count" value="3"><input name="selection" value="random">
</form>
<form method="post" action="{app}/drill/undo" target="s5"></form>
<form method="post" action="{app}/mock/{mock_id}/discard" target="s6"></form>
<form method="post" action="{app}/settings/import" enctype="multipart/form-data" target="s7">
  <input type="file" name="file">
</form>
<img src="{app}/api/export" alt=""><img src="{app}/drill" alt=""><img src="{app}/settings" alt="">
<img src="{app}/api/drill/next" alt="">
<script>
(function () {{
  var APP = "{app}", results = {{}};
  function attempt(name, url, init) {{
    return fetch(url, init).then(
      function (r) {{ results[name] = "sent " + r.type + " " + r.status; }},
      function (e) {{ results[name] = "error " + e.name; }});
  }}
  for (var i = 0; i < document.forms.length; i++) document.forms[i].submit();
  Promise.all([
    attempt("import", APP + "/api/import",
      {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body: {wipe_js}}}),
    attempt("undo", APP + "/api/drill/undo", {{method: "POST", mode: "no-cors"}}),
    attempt("review", APP + "/api/drill/reviews", {{method: "POST", mode: "no-cors", body:
      JSON.stringify({{question_id: "q01", rating: 1, review_token: "{review_token}"}})}}),
    attempt("finish", APP + "/api/mock-sessions/{mock_id}/finish", {{method: "POST", mode: "no-cors"}}),
    attempt("put-settings", APP + "/api/settings",
      {{method: "PUT", headers: {{"Content-Type": "application/json"}}, body: '{{"new_per_day": 0}}'}}),
    attempt("put-settings-no-cors", APP + "/api/settings", {{method: "PUT", mode: "no-cors", body: "{{}}"}}),
    attempt("read-export", APP + "/api/export", {{}}),
  ]).then(function () {{
    window.attackResults = results;
    document.title = "done";
  }});
}})();
</script>
</body></html>
"""

# What the attack page makes Chromium send to the app (method, path): each must reach the server and be refused.
EXPECTED_REFUSALS = {
    ("POST", "/settings"): 403,
    ("POST", "/drill/grade"): 403,
    ("POST", "/api/import"): 403,  # form and no-cors fetch both: cross-site, refused before the type check
    ("POST", "/mock"): 403,
    ("POST", "/drill/undo"): 403,
    ("POST", "/settings/import"): 403,
    ("POST", "/api/drill/undo"): 403,
    ("POST", "/api/drill/reviews"): 403,
}


class _Attacker(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def attacker() -> Iterator[tuple[ThreadingHTTPServer, type[_Attacker]]]:
    handler = type("AttackerHandler", (_Attacker,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="attacker-site", daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def hostile_browser(browser):
    """Chromium whose resolver maps the attacker's and the rebinding name to this machine, as DNS would
    (a second browser from the suite's one Playwright instance)."""
    rules = f"--host-resolver-rules=MAP {ATTACKER_NAME} 127.0.0.1, MAP {REBIND_NAME} 127.0.0.1"
    b = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, rules], headless=True)
    yield b
    b.close()


def learner_data(url: str) -> dict:
    """Everything the learner would lose, read back through the API."""
    exported = httpx.get(f"{url}/api/export", timeout=10).json()
    sessions = httpx.get(f"{url}/api/mock-sessions", timeout=10).json()
    return {
        "settings": httpx.get(f"{url}/api/settings", timeout=10).json(),
        "reviews": exported["reviews"],
        "cards": exported["cards"],
        "sessions": sessions,
    }


def _seed(url: str) -> dict[str, str]:
    """Some history worth stealing: two reviews, settings, an active mock interview; the card now on show."""
    httpx.put(f"{url}/api/settings", json={"new_per_day": 10, "desired_retention": 0.9}, timeout=10).raise_for_status()
    for rating in (3, 4):
        card = httpx.get(f"{url}/api/drill/next", timeout=10).json()
        body = {"question_id": card["question_id"], "rating": rating, "review_token": card["review_token"]}
        httpx.post(f"{url}/api/drill/reviews", json=body, timeout=10).raise_for_status()
    mock = httpx.post(f"{url}/api/mock-sessions", json={"count": 3, "seed": 5}, timeout=10).json()
    card = httpx.get(f"{url}/api/drill/next", timeout=10).json()
    return {"mock_id": str(mock["id"]), "review_token": card["review_token"]}


@pytest.mark.parametrize("attacker_host", [ATTACKER_NAME, "127.0.0.1"], ids=["cross-site", "same-site-other-port"])
def test_a_hostile_page_changes_nothing(live_server, hostile_browser, attacker, attacker_host):
    server, handler = attacker
    ids = _seed(live_server.url)
    wipe = json.dumps(WIPE)
    handler.page = ATTACK_PAGE.format(
        app=live_server.url,
        guess="0" * 64,
        review_token=ids["review_token"],  # even the real token of the card on show does not help
        mock_id=ids["mock_id"],
        wipe_head=wipe[:-1] + ', "x": "',  # text/plain form: name=value glued into one JSON document
        wipe_js=json.dumps(wipe),
    ).encode()
    before = learner_data(live_server.url)

    context = hostile_browser.new_context()
    page = context.new_page()
    # The network log as Chromium sees it: no-cors answers blocked by Cross-Origin-Resource-Policy never
    # reach Playwright's response event, but their raw status does reach the DevTools protocol.
    # A response's events may arrive before or after its request's (DevTools makes no promise), so both are
    # kept by request id and joined when read.
    sent: dict[str, tuple[str, str]] = {}
    statuses: dict[str, list[int]] = {}
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")

    def on_request(event: dict) -> None:
        url = event["request"]["url"]
        if url.startswith(live_server.url):
            sent[event["requestId"]] = (event["request"]["method"], url[len(live_server.url) :].split("?")[0])

    def on_raw_response(event: dict) -> None:
        statuses.setdefault(event["requestId"], []).append(event["statusCode"])

    def on_response(event: dict) -> None:
        statuses.setdefault(event["requestId"], []).append(event["response"]["status"])

    def answered() -> dict[tuple[str, str], set[int]]:
        joined: dict[tuple[str, str], set[int]] = {}
        for request_id, key in list(sent.items()):
            if statuses.get(request_id):
                joined.setdefault(key, set()).update(statuses[request_id])
        return joined

    cdp.on("Network.requestWillBeSent", on_request)
    cdp.on("Network.responseReceivedExtraInfo", on_raw_response)
    cdp.on("Network.responseReceived", on_response)
    page.goto(f"http://{attacker_host}:{server.server_address[1]}/")
    page.wait_for_function("document.title === 'done'", timeout=20_000)
    deadline = time.monotonic() + 20
    while not set(EXPECTED_REFUSALS) <= set(answered()) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    results = page.evaluate("window.attackResults")
    screenshot(page, f"csrf-attacker-{'cross' if attacker_host == ATTACKER_NAME else 'same-site'}")
    context.close()

    # every attack reached the server (so the test could have failed) and was refused
    seen = answered()
    for key, status in EXPECTED_REFUSALS.items():
        assert key in seen, f"{key} never reached the app: the attack page did not run ({results})"
        assert seen[key] == {status}, (key, seen[key])
    # the preflighted PUT never left the browser (no CORS grant), and no-cors cannot PUT at all
    assert ("PUT", "/api/settings") not in seen
    assert results["put-settings"].startswith("error") and results["put-settings-no-cors"].startswith("error")
    assert results["read-export"].startswith("error")  # the export cannot be read cross-origin
    # the images were plain GETs: served or not, they change nothing
    assert learner_data(live_server.url) == before
    assert len(before["reviews"]) >= 2 and before["settings"]["new_per_day"] == 10
    assert any(s["id"] == int(ids["mock_id"]) and s["status"] == "active" for s in before["sessions"])


def test_a_rebinding_name_reads_and_writes_nothing(live_server, hostile_browser):
    """evil.example resolving to 127.0.0.1 makes its page same-origin with the app: the Host check refuses it."""
    context = hostile_browser.new_context()
    page = context.new_page()
    rebound = f"http://{REBIND_NAME}:{live_server.port}"
    response = page.goto(f"{rebound}/api/export")
    assert response is not None and response.status == 400
    body = page.inner_text("body")
    assert "不允许的 Host" in body and '"reviews"' not in body
    # from its own (rebound, now same-origin) page, a write with the JSON type is refused the same way
    page.goto(f"{rebound}/healthz")
    status = page.evaluate(
        """fetch("/api/settings", {method: "PUT", headers: {"Content-Type": "application/json"},
                                   body: '{"new_per_day": 0}'}).then(r => r.status)"""
    )
    assert status == 400
    context.close()
    r = httpx.get(f"{live_server.url}/api/export", headers={"Host": f"{REBIND_NAME}:{live_server.port}"}, timeout=10)
    assert r.status_code == 400 and r.headers["x-frame-options"] == "DENY"


def test_the_apps_own_pages_still_write(live_server, browser):
    """Same browser rules, the app's own origin: a plain form (hidden token) and htmx (token header) go through."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/settings")
    page.fill("input[name=new_per_day]", "13")
    with page.expect_response(lambda r: r.url.endswith("/settings") and r.request.method == "POST") as saved:
        page.click("form.settings-form button[type=submit]")
    assert saved.value.status in (200, 303), page.content()[:3000]
    assert httpx.get(f"{live_server.url}/api/settings", timeout=10).json()["new_per_day"] == 13

    reviews = len(httpx.get(f"{live_server.url}/api/export", timeout=10).json()["reviews"])
    page.goto(f"{live_server.url}/drill")
    page.wait_for_selector('#drill[data-phase="front"]')
    with page.expect_response(lambda r: r.url.endswith("/drill/reveal")) as revealed:
        page.keyboard.press("Space")
    assert revealed.value.status == 200
    page.wait_for_selector('#drill[data-phase="back"]')
    with page.expect_response(lambda r: r.url.endswith("/drill/grade")) as graded:
        page.keyboard.press("3")
    assert graded.value.status == 200
    assert len(httpx.get(f"{live_server.url}/api/export", timeout=10).json()["reviews"]) == reviews + 1
    assert errors == []
    context.close()


def test_a_cross_site_form_lands_on_a_clear_error_page(live_server, hostile_browser, attacker):
    """A learner tricked into submitting a form from elsewhere sees why nothing happened, in Chinese first."""
    server, handler = attacker
    handler.page = (
        f'<!doctype html><meta charset="utf-8"><form method="post" action="{live_server.url}/settings">'
        '<input name="new_per_day" value="0"><button id="go">领取奖品</button></form>'
    ).encode()
    context = hostile_browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.goto(f"http://{ATTACKER_NAME}:{server.server_address[1]}/")
    with page.expect_navigation():
        page.click("#go")
    assert "跨站请求被拒绝" in page.inner_text("h1")
    screenshot(page, "csrf-refused-page")
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock")
    screenshot(page, "api-docs-under-csp")
    context.close()


def test_a_page_older_than_the_token_says_so_instead_of_doing_nothing(live_server, browser):
    """An open tab whose token no longer matches (e.g. the secret file was deleted): a grade is refused
    visibly, and nothing is recorded."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/drill")
    page.wait_for_selector('#drill[data-phase="front"]')
    page.evaluate("document.querySelector('meta[name=csrf-token]').setAttribute('content', 'stale')")
    reviews = len(httpx.get(f"{live_server.url}/api/export", timeout=10).json()["reviews"])
    with page.expect_response(lambda r: r.url.endswith("/drill/reveal")) as refused:
        page.keyboard.press("Space")
    assert refused.value.status == 403
    notice = page.locator("#write-refused")
    notice.wait_for()
    assert "请刷新页面后重试" in notice.inner_text()
    assert page.locator('#drill[data-phase="front"]').count() == 1  # the card stayed as it was
    assert len(httpx.get(f"{live_server.url}/api/export", timeout=10).json()["reviews"]) == reviews
    screenshot(page, "csrf-stale-page-notice")
    context.close()
