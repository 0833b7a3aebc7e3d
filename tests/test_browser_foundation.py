"""A learner's first minute in Chromium: home → filter → question → reveal → typeset formula."""

from __future__ import annotations

import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_browse_filter_open_and_reveal(live_server, page):
    page.goto(live_server.url + "/")
    assert "transformer" in page.title().lower()
    screenshot(page, "home")

    page.click("a[href='/questions']")
    page.wait_for_selector("#question-list")
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
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
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
    pg.on("request", lambda req: None if req.url.startswith(live_server.url) else remote.append(req.url))
    for path in ("/", "/questions/q04", "/drill", "/stats", "/settings", "/mock", "/visualize", "/docs"):
        pg.goto(live_server.url + path)
        pg.wait_for_load_state("networkidle")
    # The API docs are the vendored Swagger UI: it rendered the operations from /openapi.json.
    pg.wait_for_selector(".opblock")
    assert pg.locator(".opblock").count() > 20
    assert remote == []
    context.close()
