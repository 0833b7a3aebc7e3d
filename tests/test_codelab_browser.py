"""The hand-coding lab in Chromium: type a wrong then a right solution with the keyboard into the editor, run
them (Ctrl+Enter, then the button) through the real sandboxed runner, see fail then pass; the draft survives
a reload and "恢复初始代码" brings the starter back; the page works at phone width."""

from __future__ import annotations

import pytest

from app.codelab.exercises import get_exercises
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

SLUG = "softmax"
WRONG = """import torch

def softmax(x, dim=-1):
    m = x.amax(dim=0, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(dim=0, keepdim=True)
"""
RIGHT = """import torch

def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    e = torch.exp(x - m)
    s = e.sum(dim=dim, keepdim=True)
    return e / torch.where(s == 0, torch.ones_like(s), s)
"""


def _editor_text(page) -> str:
    return page.evaluate("window.codelabEditor.getValue()")


def _type_code(page, code: str) -> None:
    """Type `code` key by key as a learner would: Enter gives the editor's automatic indent, and Tab / Shift+Tab
    move it to the line's own indentation (4 spaces a step) before the line's text is typed."""
    page.click("#code-editor-cm .CodeMirror-code")
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    for i, line in enumerate(code.rstrip("\n").split("\n")):
        if i:
            page.keyboard.press("Enter")
        want = len(line) - len(line.lstrip(" "))
        for _ in range(8):
            have = page.evaluate("window.codelabEditor.getCursor().ch")
            if have == want:
                break
            page.keyboard.press("Tab" if have < want else "Shift+Tab")
        page.keyboard.type(line.lstrip(" "))
    assert _editor_text(page).rstrip() == code.rstrip(), _editor_text(page)


def test_wrong_then_right_with_the_keyboard_and_the_draft_survives_a_reload(live_server, page):
    page.goto(f"{live_server.url}/code")
    assert page.locator(".code-item").count() == len(get_exercises())
    screenshot(page, "codelab-list-desktop")
    page.goto(f"{live_server.url}/code/{SLUG}")
    page.wait_for_selector("#code-editor-cm")
    assert _editor_text(page) == get_exercises()[SLUG].starter_code
    screenshot(page, "codelab-exercise-desktop")

    _type_code(page, WRONG)
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#run-verdict.fail", timeout=30_000)
    page.keyboard.press("Escape")  # Tab indents inside the editor; Esc leaves it for the Run button
    assert page.evaluate("document.activeElement.id") == "run-button"
    page.click("#code-editor-cm .CodeMirror-code")
    failing = page.locator(".test.fail")
    assert failing.count() >= 1
    assert failing.first.locator(".test-message").inner_text().strip()
    assert "未通过" in page.locator("#exercise-status").inner_text()
    screenshot(page, "codelab-failed")

    _type_code(page, RIGHT)
    page.click("#run-button")
    page.wait_for_selector("#run-verdict.pass", timeout=30_000)
    assert page.locator(".test.fail").count() == 0
    assert "已通过" in page.locator("#exercise-status").inner_text()
    assert "建议" in page.locator("#code-rating .grade.suggested").inner_text()
    screenshot(page, "codelab-passed")

    page.reload()
    page.wait_for_selector("#code-editor-cm")
    assert _editor_text(page).rstrip() == RIGHT.rstrip()
    assert "已恢复上次的草稿" in page.locator("#draft-state").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reset-code")
    assert _editor_text(page) == get_exercises()[SLUG].starter_code
    page.reload()
    page.wait_for_selector("#code-editor-cm")
    assert _editor_text(page) == get_exercises()[SLUG].starter_code


def test_hints_one_at_a_time_and_the_solution_after_a_confirm(live_server, page):
    exercise = get_exercises()["sdpa"]  # not run in this module: seeing the solution before passing means Again
    page.goto(f"{live_server.url}/code/{exercise.slug}")
    hints = page.locator("#hints details.hint")
    assert hints.count() >= 2
    assert hints.nth(0).is_visible() and not hints.nth(1).is_visible()
    hints.nth(0).locator("summary").click()
    hints.nth(1).wait_for(state="visible")  # the toggle event fires after the click's task

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#show-solution")
    assert page.locator("pre.solution").count() == 0  # dismissed: nothing shown, nothing recorded
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#show-solution")
    page.wait_for_selector("pre.solution")
    assert f"def {exercise.entry}" in page.locator("pre.solution").inner_text()
    assert "通过前查看了参考答案" in page.locator("#rating-reason").inner_text()


def test_the_lab_at_phone_width(live_server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800}, bypass_csp=True)
    phone = context.new_page()
    try:
        phone.goto(f"{live_server.url}/code")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(phone, "codelab-list-phone")
        phone.goto(f"{live_server.url}/code/{SLUG}")
        phone.wait_for_selector("#code-editor-cm")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 375
        box = phone.locator("#code-editor-cm").bounding_box()
        assert box is not None and box["width"] <= 375 and box["x"] >= 0
        screenshot(phone, "codelab-exercise-phone")
    finally:
        context.close()


def test_without_javascript_the_form_still_runs(live_server, browser):
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    plain = context.new_page()
    try:
        plain.goto(f"{live_server.url}/code/{SLUG}")
        plain.fill("#code-editor", RIGHT)
        plain.click("#run-button")
        plain.wait_for_selector("#run-verdict.pass", timeout=30_000)
        assert plain.locator("#code-editor").input_value().rstrip() == RIGHT.rstrip()
    finally:
        context.close()


def test_the_editor_and_an_htmx_run_work_under_the_apps_csp(live_server, browser):
    """No bypass here: CodeMirror, the draft, Ctrl+Enter and the htmx swap all run under the strict CSP."""
    context = browser.new_context(locale="zh-CN")
    pg = context.new_page()
    refused: list[str] = []
    pg.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    pg.on("pageerror", lambda exc: refused.append(str(exc)))
    try:
        response = pg.goto(f"{live_server.url}/code/sdpa")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        pg.wait_for_selector("#code-editor-cm .CodeMirror-code")
        pg.click("#code-editor-cm .CodeMirror-code")
        pg.keyboard.press("Control+End")
        pg.keyboard.press("Enter")
        pg.keyboard.type("x = 1")
        assert "x = 1" in pg.locator("#code-editor-cm .CodeMirror-code").inner_text()
        pg.keyboard.press("Control+Enter")
        pg.wait_for_selector("#run-verdict.fail", timeout=30_000)  # the starter raises NotImplementedError
        assert pg.locator("#run-results .test").count() >= 1
        assert refused == []
    finally:
        context.close()
