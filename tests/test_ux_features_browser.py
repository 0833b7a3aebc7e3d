"""What users expect, in Chromium: dark mode, search hits and tags, the ? keyboard help, mock verdict keys,
the notes' table of contents, the interview marker on the forecast, and the way back from /docs."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import SCREENSHOT_DIR, screenshot

pytestmark = pytest.mark.browser

# WCAG contrast of an element's text colour against the page background, computed in the page.
CONTRAST_JS = """(sel) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const channel = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => { const v = rgb(c).map(channel); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const el = document.querySelector(sel);
  const s = getComputedStyle(el);
  const fg = el instanceof SVGElement ? s.fill : s.color;
  const bg = getComputedStyle(document.documentElement).backgroundColor;
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return { ratio: (a + 0.05) / (b + 0.05), bg: lum(bg) };
}"""


@pytest.fixture
def dark(browser):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 1200, "height": 900}, color_scheme="dark", bypass_csp=True
    )
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"browser errors: {errors}"


def _contrast(pg, selector: str) -> float:
    result = pg.evaluate(CONTRAST_JS, selector)
    assert result["bg"] < 0.02, "the page background is dark"
    return result["ratio"]


@pytest.mark.parametrize(
    ("path", "selectors"),
    [
        ("/", ["h1", "a.tile h2"]),
        ("/questions?q=缩放", [".question-list a", ".muted", ".search-snippet mark"]),
        ("/notes/self-attention", [".note-toc a", ".note p"]),
        ("/stats", [".chart .axis", ".chart .value", "h2"]),
        ("/visualize/attention?text=我爱自然语言处理", [".vz-svg text", "h1"]),
        ("/drill", ["h1"]),
        ("/settings", ["label", "input"]),
    ],
)
def test_dark_mode_pages_are_dark_with_readable_text(live_server, dark, path, selectors):
    dark.goto(live_server.url + path)
    for selector in selectors:
        expect(dark.locator(selector).first).to_be_attached()
        assert _contrast(dark, selector) >= 4.5, f"{selector} on {path}"
    name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0]).strip("-") or "home"
    screenshot(dark, f"dark-{name}")


def test_dark_mode_follows_the_system_setting(live_server, page):
    page.goto(live_server.url + "/")
    light = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert light == "rgb(251, 250, 247)" and dark == "rgb(21, 23, 27)"


def test_search_marks_hits_and_shows_an_escaped_snippet(live_server, page):
    page.goto(live_server.url + "/questions")
    page.fill("#search", "<pad")
    page.press("#search", "Enter")
    snippet = page.locator(".search-snippet").first
    expect(snippet.locator("mark").first).to_have_text("<pad")  # shown as text …
    assert page.locator("#question-list pad").count() == 0  # … never parsed as an element
    page.fill("#search", "缩放")
    page.press("#search", "Enter")
    expect(page.locator("#question-list li").first.locator("a mark").first).to_have_text("缩放")
    expect(page.locator(".search-snippet .snippet-field").first).to_be_visible()
    screenshot(page, "questions-search-snippets")


def test_tag_chip_filters_and_combines_with_the_other_filters(live_server, page):
    page.goto(live_server.url + "/questions?category=depth")
    total = page.locator("#question-list > ol > li").count()
    page.locator("#question-list a.tag", has_text=re.compile(r"^kv-cache$")).first.click()
    expect(page).to_have_url(re.compile(r"category=depth.*tag=kv-cache"))
    rows = page.locator("#question-list > ol > li")
    assert 0 < rows.count() < total
    for i in range(rows.count()):
        expect(rows.nth(i).locator("a.tag", has_text=re.compile(r"^kv-cache$"))).to_have_count(1)
        assert rows.nth(i).get_attribute("data-category") == "depth"
    expect(page.locator("select[name=tag]")).to_have_value("kv-cache")
    # a search narrows further and keeps the tag in the address
    page.fill("#search", "GQA")
    page.press("#search", "Enter")
    expect(page).to_have_url(re.compile(r"tag=kv-cache"))
    expect(page).to_have_url(re.compile(r"q=GQA"))
    # the × on the active tag drops only the tag
    page.locator(".tag-active a[aria-label^='去掉标签']").click()
    expect(page).to_have_url(re.compile(r"category=depth"))
    assert "tag=" not in page.url
    screenshot(page, "questions-tag-filter")


def test_question_mark_opens_the_keyboard_help_and_escape_closes_it(live_server, page):
    page.goto(live_server.url + "/drill")
    front = page.locator("#drill[data-phase='front']")
    expect(front).to_be_visible()
    page.keyboard.press("?")
    help_box = page.locator("#keys-help")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("本页 · 闪卡 Drill")
    expect(help_box).to_contain_text("撤销上一次评分")
    # keys meant for the page do nothing behind the overlay ("a" would focus the answer box)
    page.keyboard.press("a")
    page.wait_for_timeout(300)
    expect(help_box).to_be_visible()
    expect(page.locator("#drill-answer")).not_to_be_focused()
    expect(front).to_be_visible()
    SCREENSHOT_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "keys-help-drill.png"))  # the viewport: a modal is not in full-page shots
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()
    page.keyboard.press("?")
    expect(help_box).to_be_visible()
    page.keyboard.press("?")
    expect(help_box).to_be_hidden()


def test_question_mark_typed_in_a_text_box_is_just_text(live_server, page):
    page.goto(live_server.url + "/drill")
    page.locator("#drill-answer").click()
    page.keyboard.type("为什么?")
    expect(page.locator("#drill-answer")).to_have_value("为什么?")
    expect(page.locator("#keys-help")).to_have_count(0)
    page.goto(live_server.url + "/questions")
    page.locator("#search").click()
    page.keyboard.type("?")
    expect(page.locator("#keys-help")).to_have_count(0)
    # outside the box: "?" lists the search keys, and "/" jumps back into the box
    page.locator("h1").click()
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_contain_text("跳到搜索框")
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()


def test_mock_verdicts_flip_from_the_keyboard(live_server, page):
    created = httpx.post(f"{live_server.url}/api/mock-sessions", json={"count": 3, "seed": 5}, timeout=10).json()
    page.goto(f"{live_server.url}/mock/{created['id']}")
    page.fill("#answer-text", "我不太确定。")
    page.click("#submit-answer")
    items = page.locator(".mock-kp-list .mock-kp")
    expect(items.first).to_be_visible()
    page.locator("h1").first.click()
    page.keyboard.press("2")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("c")
    second = page.locator(".mock-kp-list .mock-kp[data-kp='1']")
    expect(second.locator("button.v-covered")).to_have_attribute("aria-pressed", "true")
    expect(second).to_be_focused()  # focus came back after the swap: the next key acts on the same point
    page.keyboard.press("p")
    expect(second.locator("button.v-partly")).to_have_attribute("aria-pressed", "true")
    expect(second).to_be_focused()  # the swapped-in item has settled and holds focus again
    page.keyboard.press("ArrowUp")
    first = page.locator(".mock-kp-list .mock-kp[data-kp='0']")
    expect(first).to_be_focused()
    page.keyboard.press("?")
    expect(page.locator("#keys-help")).to_contain_text("改判为 遗漏 missed")
    page.keyboard.press("m")  # ignored behind the overlay
    page.keyboard.press("Escape")
    expect(first.locator("button.v-covered")).to_have_attribute("aria-pressed", "false")
    screenshot(page, "mock-verdict-keys")


def test_note_table_of_contents_jumps_to_the_section(live_server, page):
    page.goto(live_server.url + "/notes/self-attention")
    toc = page.locator("#note-toc")
    expect(toc).to_be_visible()
    link = toc.locator("a", has_text="复杂度与长序列")
    link.click()
    heading = page.locator("h2#复杂度与长序列")
    expect(page).to_have_url(re.compile(r"#%E5%A4%8D"))
    top = heading.evaluate("h => h.getBoundingClientRect().top")
    assert 0 <= top < 120, "the heading lands just below the sticky header"
    assert toc.evaluate("t => getComputedStyle(t).position") == "sticky"
    expect(toc).to_be_in_viewport()  # still beside the text after the jump
    screenshot(page, "note-toc-desktop")


def test_note_table_of_contents_is_folded_on_a_phone(live_server, browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 800}, bypass_csp=True)
    pg = context.new_page()
    pg.goto(live_server.url + "/notes/self-attention")
    toc = pg.locator("#note-toc")
    expect(toc).not_to_have_attribute("open", "")
    pg.locator("#note-toc summary").click()
    pg.locator("#note-toc a", has_text="面试怎么问").click()
    expect(pg.locator("h2#面试怎么问")).to_be_in_viewport()
    expect(toc).not_to_have_attribute("open", "")  # folded again so the text is readable
    screenshot(pg, "note-toc-phone")
    context.close()


def test_forecast_marks_the_interview_day(live_server, page):
    from datetime import UTC, datetime, timedelta

    day = (datetime.now(UTC) + timedelta(days=6)).date().isoformat()
    response = httpx.put(f"{live_server.url}/api/settings", json={"interview_date": day}, timeout=10)
    assert response.status_code == 200
    page.goto(live_server.url + "/stats")
    marker = page.locator(".forecast .interview-marker")
    expect(marker).to_be_visible()
    expect(marker.locator("text")).to_have_text("面试日")
    expect(page.locator(".forecast .final-window")).to_have_count(3)
    page.emulate_media(color_scheme="dark")
    page.locator("#forecast-heading").scroll_into_view_if_needed()
    screenshot(page, "stats-forecast-interview-dark")
    httpx.put(f"{live_server.url}/api/settings", json={"interview_date": None}, timeout=10)


def test_docs_link_back_to_the_app(live_server, page):
    page.goto(live_server.url + "/docs")
    back = page.locator("nav.docs-back a", has_text="返回应用")
    expect(back).to_be_visible()
    back.click()
    expect(page).to_have_url(live_server.url + "/")
