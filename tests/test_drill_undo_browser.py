"""Undo from two tabs in Chromium: the first tab's undo removes the newest review; the second tab, still
offering to undo that same review, is told it was already undone, and nothing else is undone in its place."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def _wait_phase(page, phase: str, question: str) -> None:
    page.wait_for_selector(f'#drill[data-phase="{phase}"][data-question="{question}"]')


def _reviews(url: str) -> int:
    return httpx.get(url + "/api/stats").json()["reviews_total"]


def test_a_second_tabs_undo_of_the_same_review_is_refused_and_undoes_nothing_else(live_server, browser):
    httpx.put(live_server.url + "/api/settings", json={"new_per_day": 10, "interview_date": None}).raise_for_status()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}, bypass_csp=True)
    errors: list[str] = []
    first = context.new_page()
    first.on("pageerror", lambda exc: errors.append(str(exc)))
    first.goto(live_server.url + "/drill")
    for question in ("q01", "q02"):
        _wait_phase(first, "front", question)
        first.keyboard.press("Space")
        _wait_phase(first, "back", question)
        first.keyboard.press("3")
    _wait_phase(first, "front", "q03")
    assert _reviews(live_server.url) == 2

    second = context.new_page()  # a second tab, opened now: it offers to undo q02's review too
    second.on("pageerror", lambda exc: errors.append(str(exc)))
    second.goto(live_server.url + "/drill")
    _wait_phase(second, "front", "q03")

    first.keyboard.press("u")
    _wait_phase(first, "front", "q02")
    assert "已撤销 q02 的评分" in first.locator("#drill").inner_text()
    assert _reviews(live_server.url) == 1

    second.bring_to_front()
    second.keyboard.press("u")
    alert = second.locator("#drill .error[role=alert]")
    alert.wait_for()
    assert alert.inner_text().startswith("这次评分（q02）已经撤销过了，没有再撤销别的评分")
    screenshot(second, "drill-undo-second-tab")
    # q01's review is still there, and the second tab now shows the card to grade (q02 again)
    assert _reviews(live_server.url) == 1
    assert second.locator("#drill").get_attribute("data-question") == "q02"
    assert not errors, errors
    context.close()
