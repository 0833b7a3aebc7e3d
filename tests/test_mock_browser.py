"""A 3-question mock interview end to end in Chromium: answer, override a verdict, follow up, rate, report, history."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from app.question_bank import get_bank
from tests.conftest import screenshot

pytestmark = pytest.mark.browser


def test_three_question_mock_interview_end_to_end(live_server, page):
    page.goto(f"{live_server.url}/mock")
    expect(page.get_by_role("heading", name=re.compile("模拟面试"))).to_be_visible()
    expect(page.locator("a[href='/notes/technique']")).to_be_visible()
    screenshot(page, "mock_setup")

    # Only category C (4 questions, two of them code questions), 3 questions, practice mode.
    page.check("input[name=count][value='3']")
    page.check("input[name=categories][value='implementation']")
    page.check("input[name=practice]")
    page.click("button.mock-start")
    expect(page).to_have_url(re.compile(r"/mock/\d+$"))
    mock_url = page.url

    saw_code_editor = False
    for n in range(3):
        expect(page.locator(".mock-question .meta")).to_contain_text(f"第 {n + 1} / 3 题")
        timer = page.locator("#mock-timer-value")
        expect(timer).to_have_text(re.compile(r"^\d+:\d\d$"))
        textarea = page.locator("#answer-text")
        if "code" in (textarea.get_attribute("class") or ""):
            saw_code_editor = True
            textarea.click()
            textarea.press("Tab")
            assert textarea.input_value() == "    ", "Tab inserts four spaces in the code editor"
            textarea.fill("")
        if n == 0:
            page.click(".mock-hint-form button")
            expect(page.locator("#mock-hint")).to_contain_text("第一个要点")
            qid = page.locator(".mock-question .qid").inner_text()
            kps = get_bank()[qid].key_points
            named = "；".join(group[0] for group in kps[0].keywords)  # the first key point's words
            textarea.fill(f"我的回答：{named}。\n<b>不是标签</b>")
            screenshot(page, "mock_question")
            page.click("#submit-answer")
        elif n == 1:
            page.click("#dont-know")
        else:
            textarea.fill("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)\nweights = softmax(scores)")
            textarea.press("Control+Enter")

        expect(page.locator("#your-answer")).to_be_visible()
        if n == 0:
            # The learner's text is shown escaped, with highlights, never as markup.
            expect(page.locator("#your-answer")).to_contain_text("<b>不是标签</b>")
            expect(page.locator("#your-answer mark").first).to_be_visible()
            # Override one verdict: a matched key point flipped to missed (or, if none matched, one to covered).
            matched = page.locator(".mock-kp:not(.verdict-missed)")
            target, new = ("missed", -1) if matched.count() else ("covered", +1)
            index = (matched.first if matched.count() else page.locator(".mock-kp").first).get_attribute("data-kp")
            kp = page.locator(f".mock-kp[data-kp='{index}']")
            before = int(page.locator("#coverage-confirmed").inner_text())
            kp.locator(f"button.v-{target}").click()
            expect(kp.locator(".mock-flipped")).to_be_visible()
            expect(kp.locator(f"button.v-{target}")).to_have_attribute("aria-pressed", "true")
            after = int(page.locator("#coverage-confirmed").inner_text())
            assert (after - before) * new > 0, "the confirmed coverage follows the override"
            screenshot(page, "mock_review")
        page.click("#to-follow-up")
        expect(page.locator("#follow-up")).to_be_visible()
        if n == 0:
            page.fill("#follow-up-text", "我不确定，但我的推理是：整行被屏蔽时 softmax 会得到 NaN。")
            page.click("#follow-up-submit")
        else:
            page.click("#follow-up-skip")
        expect(page.locator("#rating")).to_be_visible()
        expect(page.locator("#rating input[name=rating]:checked")).to_have_count(1)  # pre-selected from coverage
        if n == 0:
            screenshot(page, "mock_rating")
        if n == 1:
            page.check("#rating input[name=rating][value='1']")
        page.click("#confirm-rating")

    assert saw_code_editor, "category C always includes q21 or q22 among any 3 of its 4 questions"

    # The report.
    expect(page).to_have_url(re.compile(r"/mock/\d+/report$"))
    expect(page.locator("#report-score")).to_have_text(re.compile(r"^\d+$"))
    score = int(page.locator("#report-score").inner_text())
    auto = int(page.locator("#report-auto-score").inner_text())
    assert 0 <= score <= 100 and 0 <= auto <= 100
    expect(page.locator("#per-question tbody tr")).to_have_count(3)
    expect(page.locator("#drill-missed")).to_have_attribute("href", re.compile(r"^/drill\?focus=q\d\d(,q\d\d)*$"))
    missed = page.locator("#drill-missed").get_attribute("href").split("=", 1)[1].split(",")
    expect(page.locator("#weakest a[href^='/notes/']").first).to_be_visible()
    expect(page.get_by_text("提示 Hints")).to_be_visible()
    screenshot(page, "mock_report")
    report_url = page.url

    # History lists the session with its score, and opens the report again.
    page.goto(f"{live_server.url}/mock/history")
    row = page.locator("#history tbody tr").first
    expect(row).to_contain_text(f"{score}")
    expect(row).to_contain_text("3/3")
    screenshot(page, "mock_history")
    row.get_by_role("link", name=re.compile("报告")).click()
    expect(page).to_have_url(report_url)
    assert mock_url in report_url

    # Readable on a phone: nothing wider than the screen except the scrollable tables.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(report_url)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "mock_report_phone")

    # "Drill them now" opens a focused practice on exactly the missed questions, first one first.
    page.set_viewport_size({"width": 1200, "height": 900})
    page.click("#drill-missed")
    expect(page.locator("#drill-focus")).to_contain_text(f"0 / {len(missed)}")
    expect(page.locator("#drill")).to_have_attribute("data-question", missed[0])


def test_refresh_mid_question_keeps_the_draft_and_the_clock(live_server, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/mock")
    page.check("input[name=count][value='3']")
    page.click("button.mock-start")
    page.fill("#answer-text", "草稿：注意力就像查字典")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "mock_question_phone")
    page.wait_for_timeout(1200)
    page.reload()
    expect(page.locator("#answer-text")).to_have_value("草稿：注意力就像查字典")
    allowed = int(page.locator("#mock-timer").get_attribute("data-allowed") or 0)
    remaining = int(page.locator("#mock-timer").get_attribute("data-remaining") or 0)
    assert remaining <= allowed - 1, "the server's clock kept running across the refresh"
    # Leave the session unfinished: the setup page offers to resume, finish or discard it.
    page.goto(f"{live_server.url}/mock")
    expect(page.locator(".mock-unfinished")).to_be_visible()
    page.locator(".mock-unfinished button", has_text="放弃").first.click()
    expect(page).to_have_url(re.compile(r"/mock/history$"))
    expect(page.locator("#history tbody tr").first).to_contain_text("已放弃")


def test_report_trend_chart_after_several_sessions(live_server, page):
    api = f"{live_server.url}/api/mock-sessions"
    bank = get_bank()
    for seed, covered in ((21, 0), (22, 2), (23, 4)):
        created = httpx.post(api, json={"count": 3, "seed": seed}, timeout=10).json()
        sid = created["id"]
        qid = created["current"]["question_id"]
        kps = bank[qid].key_points
        text = "；".join(group[0] for kp in kps[:covered] for group in kp.keywords)
        httpx.post(f"{api}/{sid}/answers", json={"question_id": qid, "text": text}, timeout=10)
        report = httpx.post(f"{api}/{sid}/finish", headers={"content-type": "application/json"}, timeout=10).json()
    page.goto(f"{live_server.url}/mock/{sid}/report")
    chart = page.locator("#trend-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".series-overall circle")).to_have_count(len(report["trend"]))
    expect(page.locator("#trend-table tbody tr")).to_have_count(len(report["trend"]))
    expect(page.locator("#trend-table tr.current")).to_contain_text(f"#{sid}")
    screenshot(page, "mock_report_trend")


def test_countdown_names_the_overrun_and_hard_stop_submits_at_zero(live_server, page):
    # The page's clock is Playwright's fake one: 35 seconds pass in the browser in an instant.
    page.clock.install()
    free = httpx.post(f"{live_server.url}/api/mock-sessions", json={"count": 3, "seconds_per_question": 30}).json()
    page.goto(f"{live_server.url}/mock/{free['id']}")
    expect(page.locator("#mock-timer-label")).to_have_text("剩余时间")
    page.clock.run_for(35_000)
    expect(page.locator("#mock-timer")).to_have_class(re.compile(r"\bovertime\b"))
    expect(page.locator("#mock-timer-label")).to_have_text("已超时 Overtime")
    expect(page.locator("#mock-timer-value")).to_have_text(re.compile(r"^\+0:0[45]$"))
    assert page.locator("#answer-text").is_visible(), "without hard stop the learner keeps answering"

    strict = httpx.post(
        f"{live_server.url}/api/mock-sessions", json={"count": 3, "seconds_per_question": 30, "hard_stop": True}
    ).json()
    qid = strict["current"]["question_id"]
    page.goto(f"{live_server.url}/mock/{strict['id']}")
    page.fill("#answer-text", "时间到之前写下的回答")
    page.clock.run_for(31_000)
    expect(page.locator("#review")).to_be_visible()
    stored = httpx.get(f"{live_server.url}/api/mock-sessions/{strict['id']}/answers/{qid}").json()
    assert stored["text"] == "时间到之前写下的回答"
    assert stored["late_unscored"] is False, "submitted by the page at 0:00, so it counts"
