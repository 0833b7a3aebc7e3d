"""The question bank in Chromium as a Chinese learner uses it: pinyin input, history, revealing the answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def _ime(page, cdp, text: str) -> None:
    """One keystroke of a pinyin IME: the box shows the uncommitted pinyin ``text`` (composition)."""
    cdp.send("Input.imeSetComposition", {"text": text, "selectionStart": len(text), "selectionEnd": len(text)})
    page.wait_for_timeout(400)  # the learner pauses longer than the 300-ms debounce while picking


def test_pinyin_composition_neither_searches_nor_fills_the_history(live_server, page) -> None:
    page.goto(live_server.url + "/questions")
    page.wait_for_selector("#question-list li")
    searched: list[str] = []
    page.on("request", lambda r: searched.append(r.url) if "/questions?" in r.url else None)
    start = page.evaluate("history.length")
    page.focus("#search")
    cdp = page.context.new_cdp_session(page)
    for keystroke in ("w", "we", "wei", "wei z", "wei zh", "wei zhi"):
        _ime(page, cdp, keystroke)
    # Nothing was searched for the pinyin fragments, and "没有匹配" never flashed.
    assert searched == []
    expect(page.locator("#question-list .empty")).to_have_count(0)
    with page.expect_response(lambda r: "/questions?" in r.url):
        cdp.send("Input.insertText", {"text": "位置"})  # the learner picks 位置: the composition commits
    expect(page.locator("#question-list li").first).to_be_visible()
    assert [u for u in searched if "q=" in u] and all("wei" not in u for u in searched)
    page.wait_for_url("**q=%E4%BD%8D%E7%BD%AE**")  # htmx replaces the URL after the swap
    # Typing replaced the history entry instead of adding one per fragment.
    assert page.evaluate("history.length") == start
    n_hits = page.locator("#question-list li").count()

    # An explicit Enter on a new search adds one entry; Back returns to the previous search.
    page.fill("#search", "缩放")
    page.wait_for_url("**q=%E7%BC%A9%E6%94%BE**")
    assert page.evaluate("history.length") == start
    page.fill("#search", "位置")
    page.wait_for_url("**q=%E4%BD%8D%E7%BD%AE**")
    page.fill("#search", "掩码")
    with page.expect_response(lambda r: "/questions?" in r.url):
        page.press("#search", "Enter")
    page.wait_for_url("**q=%E6%8E%A9%E7%A0%81**")
    page.wait_for_timeout(500)  # past the debounce: the typed search must not take the entry back
    assert page.evaluate("history.length") == start + 1
    page.go_back()
    page.wait_for_url("**q=%E4%BD%8D%E7%BD%AE**")
    expect(page.locator("#question-list li")).to_have_count(n_hits)
    screenshot(page, "questions-ime-search")


def test_key_points_stay_hidden_until_the_answer_is_revealed(live_server, page) -> None:
    page.goto(live_server.url + "/questions/q04")
    key_points = page.locator(".key-points")
    # Self-testing: nothing of the answer outline is on screen before "Reveal".
    expect(key_points).to_be_hidden()
    page.click("details#answer summary")
    expect(key_points).to_be_visible()
    assert key_points.locator("li").count() >= 3
    screenshot(page, "question-key-points-revealed")
