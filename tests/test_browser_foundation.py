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
