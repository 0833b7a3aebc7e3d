"""Rough edges a first-time user hit (issue 12), checked in Chromium as they were found: undo, scrolling, phones."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from app.services.visualize.state import VIEWS
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
    # restored when htmx reports the swapped card loaded, a moment after it appears
    expect(page.locator("#drill-answer")).to_have_value("缩放让点积的方差回到 1，softmax 不会饱和")
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


def test_on_a_phone_every_visualization_starts_on_the_first_screen(live_server, browser) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    for slug in VIEWS:
        page.goto(f"{live_server.url}/visualize/{slug}?text=我爱自然语言处理")
        first = page.locator("#vz-panel .vz-view").locator("svg.vz-svg, table").first
        box = first.bounding_box()
        assert box is not None and box["y"] < PHONE["height"], f"{slug}: the first chart starts at {box and box['y']}"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"{slug} scrolls the whole page sideways"
        tab = page.locator(f"#vz-tab-{slug}").bounding_box()  # the tab row scrolls to the current view
        assert tab is not None and tab["x"] >= 0 and tab["x"] + tab["width"] <= PHONE["width"], (slug, tab)
    page.goto(f"{live_server.url}/visualize/attention?text=我爱自然语言处理")
    screenshot(page, "visualize-phone-first-screen")
    context.close()


def _smallest_text_px(page, selector: str) -> float:
    """The smallest on-screen font size (CSS px) of the visible SVG text matched by ``selector``."""
    return page.evaluate(
        """(sel) => Math.min(...[...document.querySelectorAll(sel)]
             .filter(t => getComputedStyle(t).display !== 'none' && t.getBBox().width > 0)
             .map(t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a))""",
        selector,
    )


def test_on_a_phone_stats_chart_labels_are_at_least_11_px(live_server, browser) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(live_server.url + "/stats")
    assert page.locator("svg.chart.forecast text").count() > 0
    assert _smallest_text_px(page, "svg.chart text") >= 11
    # the forecast labels every other day on a phone, so neighbouring dates never overlap
    boxes = page.eval_on_selector_all(
        "svg.forecast .axis",
        "els => els.filter(t => getComputedStyle(t).display !== 'none').map(t => t.getBoundingClientRect())"
        ".map(b => [b.left, b.right])",
    )
    assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
    screenshot(page, "stats-phone")
    context.close()


def test_a_64_character_heatmap_is_legible_and_has_a_colour_legend(live_server, page) -> None:
    text = ("注意力机制 Attention 让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017" * 2)[:64]
    page.goto(f"{live_server.url}/visualize/attention?text={text}")
    page.wait_for_selector("#vz-panel svg.vz-svg[data-kind=heatmap]")
    assert _smallest_text_px(page, "#vz-panel svg.vz-svg[data-kind=heatmap] g.lab text") >= 11
    legend = page.locator("#vz-panel svg.vz-svg[data-kind=heatmap] g.legend")
    assert legend.count() == 1
    ticks = legend.locator("text").evaluate_all("els => els.map(e => e.textContent)")
    assert ticks == ["颜色", "0", "0.50", "1.00"]
    masks = page.goto(f"{live_server.url}/visualize/masks?text={text[:20]}")
    assert masks.ok
    assert "被掩码 −∞" in page.locator("#vz-panel svg.vz-svg[data-kind=heatmap] g.legend").first.text_content()
    screenshot(page, "visualize-64-legend")


def test_on_a_phone_a_report_table_that_scrolls_shows_a_cue(live_server, browser) -> None:
    for seed in (3, 4):  # two finished sessions: the report draws the trend chart
        created = httpx.post(f"{live_server.url}/api/mock-sessions", json={"count": 3, "seed": seed}).json()
        httpx.post(f"{live_server.url}/api/mock-sessions/{created['id']}/finish", json={}).raise_for_status()
    context = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/mock/{created['id']}/report")
    page.wait_for_load_state("load")
    # the per-question table (or its wrapper) is wider than the phone: it fades at the right edge
    found = page.evaluate(
        """() => { const t = document.querySelector('#per-question');
                   const box = t.classList.contains('scroll-more-right') ? t : t.closest('.scroll-more-right');
                   if (!box) return false; box.id = box.id || 'cue-box'; return box.id; }"""
    )
    assert found, "the table is cut off without a cue"
    assert _smallest_text_px(page, "#trend-chart text") >= 11  # the trend chart stays legible too
    box = page.locator(f"#{found}")
    screenshot(page, "mock-report-phone-cue")
    box.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    expect(box).to_have_class(re.compile(r"\bscroll-more-left\b"))
    assert "scroll-more-right" not in (box.get_attribute("class") or "")
    context.close()
