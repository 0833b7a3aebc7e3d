"""The drill loop in Chromium with the keyboard only; closing the browser mid-way continues where it stopped."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def _count(page, which: str) -> int:
    return int(page.locator(f"#count-{which}").inner_text())


def _wait_phase(page, phase: str, question: str | None = None) -> None:
    selector = f'#drill[data-phase="{phase}"]' + (f'[data-question="{question}"]' if question else "")
    page.wait_for_selector(selector)


def test_review_five_cards_with_the_keyboard_then_reopen(live_server, browser):
    httpx.put(live_server.url + "/api/settings", json={"new_per_day": 10, "interview_date": None}).raise_for_status()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}, bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server.url + "/drill")
    _wait_phase(page, "front", "q01")
    assert (_count(page, "new"), _count(page, "done")) == (10, 0)
    screenshot(page, "drill-front")

    # card 1: type an answer first; keys typed in the box are text, not shortcuts
    page.keyboard.press("a")
    page.keyboard.type("自注意力 1234 u softmax QK^T/sqrt(d_k)")
    assert page.locator("#drill-answer").input_value().endswith("sqrt(d_k)")
    _wait_phase(page, "front", "q01")  # nothing fired while typing
    page.keyboard.press("Control+Enter")
    _wait_phase(page, "back", "q01")
    assert page.locator(".drill-mine").count() == 1
    screenshot(page, "drill-back")
    page.keyboard.press("3")
    _wait_phase(page, "front", "q02")
    assert (_count(page, "new"), _count(page, "done")) == (9, 1)

    # cards 2–5 with Space and 1–4
    for expected, key in [("q02", "1"), ("q03", "4"), ("q04", "2"), ("q05", "3")]:
        _wait_phase(page, "front", expected)
        page.keyboard.press("Space")
        _wait_phase(page, "back", expected)
        page.keyboard.press(key)
        page.wait_for_selector(f'#drill[data-phase="front"]:not([data-question="{expected}"])')
    assert _count(page, "done") == 5
    assert _count(page, "new") == 5
    screenshot(page, "drill-after-five")

    # u undoes the last grade (q05) and shows q05 again; grade it again
    page.keyboard.press("u")
    _wait_phase(page, "front", "q05")
    assert _count(page, "done") == 4
    page.keyboard.press("Enter")
    _wait_phase(page, "back", "q05")
    page.keyboard.press("3")
    page.wait_for_selector('#drill[data-phase="front"]:not([data-question="q05"])')
    assert _count(page, "done") == 5

    reviews = httpx.get(live_server.url + "/api/stats").json()["reviews_total"]
    assert reviews == 5
    next_question = page.locator("#drill").get_attribute("data-question")
    page.keyboard.press("Space")  # reveal the next card, then walk away before grading it
    _wait_phase(page, "back", next_question)
    assert not errors, errors
    context.close()  # close the browser mid-way

    # reopen: same place, nothing lost, nothing double-counted, even after a server restart
    live_server.restart()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1100, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + "/drill")
    _wait_phase(page, "front", next_question)
    assert _count(page, "done") == 5
    page.go_back()  # nothing to go back to: still no extra review
    page.goto(live_server.url + "/drill")
    page.reload()
    assert httpx.get(live_server.url + "/api/stats").json()["reviews_total"] == 5
    context.close()


def test_back_button_never_grades_twice(live_server, page):
    page.goto(live_server.url + "/drill")
    page.wait_for_selector("#drill[data-phase=front]")
    before = httpx.get(live_server.url + "/api/stats").json()["reviews_total"]
    page.keyboard.press("Space")
    page.wait_for_selector("#drill[data-phase=back]")
    page.click("button.grade-3")
    page.wait_for_selector("#drill-flash")
    page.goto(live_server.url + "/stats")
    page.go_back()
    page.wait_for_selector("#drill")
    page.reload()
    page.wait_for_selector("#drill")
    assert httpx.get(live_server.url + "/api/stats").json()["reviews_total"] == before + 1


def test_pages_screenshots(live_server, page):
    httpx.put(live_server.url + "/api/settings", json={"interview_date": "2030-01-15"}).raise_for_status()
    for path, name in [("/", "home-today"), ("/stats", "stats"), ("/settings", "settings")]:
        page.goto(live_server.url + path)
        page.wait_for_selector("main")
        screenshot(page, name)
    assert page.locator("#interview_date").input_value() == "2030-01-15"
    httpx.put(live_server.url + "/api/settings", json={"interview_date": None, "new_per_day": 0}).raise_for_status()
    for _ in range(60):  # finish what is left (Easy) so the queue is empty
        card = httpx.get(live_server.url + "/api/drill/next").json()
        if card["question_id"] is None:
            break
        body = {"question_id": card["question_id"], "rating": 4, "review_token": card["review_token"]}
        httpx.post(live_server.url + "/api/drill/reviews", json=body).raise_for_status()
    page.goto(live_server.url + "/drill")
    page.wait_for_selector("#drill[data-phase=empty]")
    assert page.locator(".drill-empty a[href='/notes']").count() == 1
    # in the study time zone, named, like every other time in the app (the live server runs it in UTC)
    assert page.locator(".drill-empty time").inner_text().endswith("（UTC）")
    screenshot(page, "drill-empty")
    httpx.put(live_server.url + "/api/settings", json={"new_per_day": 10}).raise_for_status()


def test_phone_width_drill_has_no_horizontal_scroll(live_server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN", bypass_csp=True)
    pg = context.new_page()
    pg.goto(live_server.url + "/drill")
    pg.wait_for_selector("#drill")
    pg.keyboard.press("Space")
    pg.wait_for_selector("#drill[data-phase=back]")
    screenshot(pg, "drill-phone")
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    context.close()


def test_a_typed_answer_survives_a_refresh_until_the_card_is_graded(live_server, page):
    page.goto(live_server.url + "/drill")
    _wait_phase(page, "front")
    first = page.locator("#drill").get_attribute("data-question")
    page.fill("#drill-answer", "缩放是为了让点积方差回到 1")
    page.reload()
    _wait_phase(page, "front", first)
    assert page.locator("#drill-answer").input_value() == "缩放是为了让点积方差回到 1"
    page.click("#reveal-button")
    _wait_phase(page, "back", first)
    page.keyboard.press("3")
    page.wait_for_selector(f'#drill[data-phase="front"]:not([data-question="{first}"])')
    assert page.locator("#drill-answer").input_value() == ""  # the next card starts empty
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('drill-draft:')).length") == 0
