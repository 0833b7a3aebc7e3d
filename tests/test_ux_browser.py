"""Rough edges a first-time user hit (issue 12), checked in Chromium as they were found: undo, scrolling, phones."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_undo_brings_back_the_typed_answer(live_server, page) -> None:
    page.goto(live_server.url + "/drill")
    page.wait_for_selector('#drill[data-phase="front"]')
    first = page.locator("#drill").get_attribute("data-question")
    page.keyboard.press("a")
    page.keyboard.type("缩放让点积的方差回到 1，softmax 不会饱和")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(f'#drill[data-phase="back"][data-question="{first}"]')
    page.keyboard.press("4")
    page.wait_for_selector(f'#drill[data-phase="front"]:not([data-question="{first}"])')
    assert page.locator("#drill-answer").input_value() == ""  # the next card starts empty
    page.keyboard.press("u")
    page.wait_for_selector(f'#drill[data-phase="front"][data-question="{first}"] #drill-flash')
    assert page.locator("#drill-answer").input_value() == "缩放让点积的方差回到 1，softmax 不会饱和"
    # it is this card's draft again: a refresh keeps it too
    page.reload()
    page.wait_for_selector(f'#drill[data-phase="front"][data-question="{first}"]')
    assert page.locator("#drill-answer").input_value() == "缩放让点积的方差回到 1，softmax 不会饱和"
    screenshot(page, "drill-undo-keeps-answer")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE], ids=["desktop", "phone"])
def test_after_submitting_a_mock_answer_the_question_and_review_are_in_view(live_server, browser, viewport) -> None:
    context = browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True)
    page = context.new_page()
    created = httpx.post(f"{live_server.url}/api/mock-sessions", json={"count": 3, "seed": 7})
    created.raise_for_status()
    page.goto(f"{live_server.url}/mock/{created.json()['id']}")
    page.fill("#answer-text", "注意力 softmax 缩放 " * 30)  # a long answer: the page is taller than the screen
    page.click("#submit-answer")
    page.wait_for_url("**#review")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    header = page.evaluate(
        """(() => { const h = document.querySelector('.site-header');
                    return getComputedStyle(h).position === 'sticky' ? h.getBoundingClientRect().bottom : 0; })()"""
    )
    title = page.locator(".mock-question h1").bounding_box()
    review = page.locator("#review-h").bounding_box()
    assert page.evaluate("window.scrollY") > 0, "the page did jump towards the review"
    assert title["y"] >= header - 1, f"the question is under the sticky header ({title['y']:.0f} < {header:.0f})"
    assert review["y"] + review["height"] <= viewport["height"], "the review heading is below the screen"
    screenshot(page, f"mock-after-submit-{viewport['width']}")
    context.close()
