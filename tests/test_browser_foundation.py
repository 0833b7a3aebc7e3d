"""A learner's first minute in Chromium: home → filter → question → reveal → typeset formula."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_browse_filter_open_and_reveal(live_server, page):
    page.goto(live_server.url + "/")
    assert "transformer" in page.title().lower()
    screenshot(page, "home")

    page.click("a[href='/questions']")
    page.wait_for_selector("#question-list")
    # The list is in the HTML before the deferred htmx script has run: wait for the page's load event, or on a
    # busy machine the change below can fire before htmx listens for it (seen once in CI: 30 s timeout).
    page.wait_for_load_state("load")
    page.select_option("select[name=category]", "implementation")
    # htmx replaces the list without a full reload: the filter form stays the same element.
    page.wait_for_function("document.querySelectorAll('#question-list li').length === 4")
    assert "category=implementation" in page.url
    page.fill("#search", "batch_first")
    page.wait_for_function("document.querySelectorAll('#question-list li').length === 1")
    screenshot(page, "questions-filtered")

    page.click("#question-list a")
    page.wait_for_selector("h1 .qid")
    assert page.locator("details#answer").get_attribute("open") is None
    page.click("details#answer summary")
    page.wait_for_selector("details#answer[open] .answer .katex")
    # The formula is typeset, not raw $...$.
    assert page.locator(".answer .katex").count() > 0
    assert "$$" not in page.locator(".answer").inner_text()
    screenshot(page, "question-revealed")


def test_phone_width_has_no_horizontal_scroll(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN", bypass_csp=True)
    pg = context.new_page()
    for path in ("/", "/questions", "/questions/q20", "/notes/positional-encoding"):
        pg.goto(live_server.url + path)
        overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"
    screenshot(pg, "phone-question")
    context.close()


def test_every_page_loads_with_no_request_leaving_the_machine(live_server, browser):
    """The network-unplugged promise, checked in the browser: every request a page makes stays local."""
    context = browser.new_context()
    pg = context.new_page()
    remote: list[str] = []
    refused: list[str] = []  # Content-Security-Policy violations are reported on the console
    pg.on("request", lambda req: None if req.url.startswith(live_server.url) else remote.append(req.url))
    pg.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.on("pageerror", lambda exc: refused.append(str(exc)))
    from app.demos import DEMOS

    views = [f"/visualize/{slug}?text=%E6%B3%A8%E6%84%8F%E5%8A%9B%20attention" for slug in DEMOS]
    pages = ["/", "/questions/q04", "/notes/self-attention", "/drill", "/stats", "/settings", "/mock", *views]
    for path in (*pages, "/docs"):
        response = pg.goto(live_server.url + path)
        pg.wait_for_load_state("networkidle")
        # every page, the API docs included (Swagger UI starts from static/js/swagger-init.js)
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
    # Typing recomputes the visualizer live (htmx, no eval) under the CSP.
    pg.goto(live_server.url + "/visualize/attention")
    with pg.expect_response(lambda r: "/visualize?" in r.url and "text=ab" in r.url):
        pg.fill("#vz-text", "ab")
    expect(pg.locator("#vz-output-text")).to_have_text("ab")
    pg.goto(live_server.url + "/docs")
    # The API docs are the vendored Swagger UI: it rendered the operations from /openapi.json.
    pg.wait_for_selector(".opblock")
    assert pg.locator(".opblock").count() > 20
    assert remote == []
    assert refused == []
    context.close()
