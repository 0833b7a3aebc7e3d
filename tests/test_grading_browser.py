"""In Chromium: a wrong-but-keywordy answer shows its misconception with the correction (drill back, mock review,
rating, report), the suggestion is Hard at best, and the question page lists 常见误区 only after Reveal."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

WRONG_Q04 = "其实不需要除以根号dk，softmax 也不会饱和。<b>标签</b>"
WRONG_Q10 = "Q 来自 encoder 的输出，K、V 来自 decoder。每层共享同一份 encoder 输出，推理时缓存一次复用。"


def test_drill_back_shows_the_misconception_and_suggests_at_most_hard(live_server, page):
    page.goto(f"{live_server.url}/drill?focus=q04")
    page.wait_for_selector('#drill[data-phase="front"][data-question="q04"]')
    page.fill("#drill-answer", WRONG_Q04)
    page.locator("#drill-answer").press("Control+Enter")
    page.wait_for_selector('#drill[data-phase="back"][data-question="q04"]')
    box = page.locator("#drill-misconceptions")
    expect(box).to_be_visible()
    expect(box).to_contain_text("说点积不需要缩放")
    expect(box).to_contain_text("更正：需要：d_k 大时点积方差为 d_k")
    expect(page.locator(".drill-mine p.mine mark.mark-wrong")).to_have_text("不需要除以")
    expect(page.locator(".drill-mine p.mine")).to_contain_text("<b>标签</b>")  # typed markup is shown as text
    expect(page.locator("#drill-suggestion")).to_contain_text("检测到误区，最多 Hard")
    expect(page.locator("button.grade.suggested")).to_have_attribute("value", "1")
    expect(page.locator(".drill-kps .kp-reason").nth(1)).to_contain_text("‘饱和’被‘不’否定")
    screenshot(page, "grading_drill_back_misconception")


def test_question_page_lists_common_misconceptions_after_reveal(live_server, page):
    page.goto(f"{live_server.url}/questions/q10")
    section = page.locator("#common-misconceptions")
    expect(section).to_be_hidden()
    page.click("#answer summary")
    expect(section).to_be_visible()
    expect(section).to_contain_text("把 Q/K/V 的来源说反")
    expect(section).to_contain_text("更正：Q 来自 decoder")
    screenshot(page, "grading_question_misconceptions")


def _answer_until(api: str, sid: int, target: str) -> None:
    """Answer (via the API) every question before `target`, so the page opens at it."""
    session = httpx.get(f"{api}/{sid}", timeout=10).json()
    for item in session["questions"]:
        qid = item["question_id"]
        if qid == target:
            return
        httpx.post(f"{api}/{sid}/answers", json={"question_id": qid, "text": "我不知道"}, timeout=10).raise_for_status()
        httpx.post(f"{api}/{sid}/answers/{qid}/confirm", json={}, timeout=10).raise_for_status()
    raise AssertionError(f"{target} is not in session {sid}")


def test_mock_review_rating_and_report_show_the_misconception(live_server, page):
    api = f"{live_server.url}/api/mock-sessions"
    created = httpx.post(api, json={"count": 10, "categories": ["basics"], "seed": 3}, timeout=10)
    created.raise_for_status()
    sid = created.json()["id"]
    _answer_until(api, sid, "q10")

    page.goto(f"{live_server.url}/mock/{sid}")
    expect(page.locator(".mock-question .qid")).to_have_text("q10")
    page.fill("#answer-text", WRONG_Q10)
    page.click("#submit-answer")
    box = page.locator("#mock-misconceptions")
    expect(box).to_be_visible()
    expect(box).to_contain_text("把 Q/K/V 的来源说反")
    expect(box).to_contain_text("更正：Q 来自 decoder（本层掩码自注意力子层的输出），K 和 V 都来自 encoder 最终输出。")
    expect(box).to_contain_text("自评建议最多 Hard")
    expect(page.locator("#your-answer mark.mark-wrong")).to_have_text("Q 来自 encoder")
    first = page.locator(".mock-kp[data-kp='0']")
    expect(first).to_have_class(re.compile("verdict-missed"))
    expect(first.locator(".kp-reason")).to_contain_text("误区：把 Q/K/V 的来源说反")
    screenshot(page, "grading_mock_review_misconception")

    page.click("#to-follow-up")
    page.click("#follow-up-skip")
    rating = page.locator("#rating")
    expect(rating).to_be_visible()
    expect(page.locator("#rating-misconception")).to_contain_text("检测到误区：把 Q/K/V 的来源说反")
    checked = page.locator("#rating input[name=rating]:checked")
    assert int(checked.get_attribute("value")) <= 2, "a stated misconception pre-selects Hard at best"
    screenshot(page, "grading_mock_rating_misconception")
    page.click("#confirm-rating")

    httpx.post(f"{api}/{sid}/finish", headers={"content-type": "application/json"}, timeout=10).raise_for_status()
    page.goto(f"{live_server.url}/mock/{sid}/report")
    section = page.locator("#report-misconceptions")
    expect(section).to_be_visible()
    expect(section).to_contain_text("q10")
    expect(section).to_contain_text("更正：Q 来自 decoder")
    screenshot(page, "grading_mock_report_misconception")
