"""The visualizer in Chromium with the shipped, trained model: live updates, heads, hover, downloads, alignment."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from app.services.visualize.state import VIEWS
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

SENTENCE = "注意力就是你所需要的"  # 10 characters -> 12 source tokens with <copy> and <eos>


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_type_a_sentence_switch_heads_hover_and_see_the_reverse_alignment(live_server, page) -> None:
    page.goto(live_server.url + "/visualize/attention")
    page.wait_for_selector("#vz-panel svg.vz-svg .cells use")
    page.evaluate("window.__sameDocument = true")  # survives htmx swaps, not a full reload

    with page.expect_response(lambda r: "/visualize?" in r.url and SENTENCE[:2] in unquote(r.url)) as typed:
        page.fill("#vz-text", SENTENCE)
    # Typing replaces the history entry and never re-renders the input being typed in.
    assert typed.value.headers["hx-replace-url"].startswith("/visualize/attention?")
    assert "hx-swap-oob" not in typed.value.text()
    page.wait_for_function("document.querySelectorAll('#vz-panel svg .cells use').length === 12 * 12")
    assert page.evaluate("window.__sameDocument") is True
    assert query(page.url)["text"] == [SENTENCE]
    assert page.inner_text("#vz-count") == "10 / 64"
    labels = page.eval_on_selector_all("#vz-panel svg .rl text", "els => els.map(e => e.textContent)")
    assert labels == ["<copy>", *SENTENCE, "<eos>"]
    assert page.inner_text("#vz-output-text") == SENTENCE  # the trained model copies it

    page.select_option("select[name=head]", "2")
    page.wait_for_function("new URLSearchParams(location.search).get('head') === '2'")
    page.wait_for_selector("figcaption:has-text('头 H2')")
    assert page.evaluate("window.__sameDocument") is True

    page.locator("#vz-panel svg .cells use").nth(12 * 3 + 4).hover()  # row 3 (力), column 4 (就)
    page.wait_for_selector("#vz-tip:not([hidden])")
    assert re.fullmatch(r"力 → 就 : \d\.\d{4}", page.inner_text("#vz-tip"))
    screenshot(page, "visualize-attention")

    with page.expect_download() as download:
        page.click("a.vz-dl")
    assert download.value.suggested_filename == "attention-encoder-L0-H2.svg"
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert saved.startswith("<?xml") and '<svg xmlns="http://www.w3.org/2000/svg"' in saved and SENTENCE[0] in saved

    page.select_option("select[name=task]", "reverse")
    page.wait_for_function("new URLSearchParams(location.search).get('task') === 'reverse'")
    page.click("#vz-tab-cross-attention")
    page.wait_for_selector("#vz-best")
    assert urlsplit(page.url).path == "/visualize/cross-attention"
    assert page.inner_text("#vz-output-text") == SENTENCE[::-1]
    best = float(page.get_attribute("#vz-best", "data-score"))
    assert best >= 0.9, page.inner_text("#vz-best")
    assert "反对角线" in page.inner_text("#vz-best")
    screenshot(page, "visualize-cross-attention")


def test_kv_cache_steps_one_token_per_click_and_masks_toggle(live_server, page) -> None:
    page.goto(live_server.url + "/visualize/kv-cache?text=" + SENTENCE + "&task=copy&steps=1")
    page.wait_for_selector("#vz-kv-next")
    for expected in ("2", "3"):
        page.click("#vz-kv-next")
        page.wait_for_function(f"document.getElementById('vz-steps').textContent === '{expected}'")
    assert page.inner_text("#vz-kv-output") == SENTENCE[:3]
    assert query(page.url)["steps"] == ["3"]
    assert float(page.inner_text("#vz-ms-cache")) > 0 and float(page.inner_text("#vz-ms-nocache")) > 0
    screenshot(page, "visualize-kv-cache")

    page.click("#vz-tab-masks")
    page.wait_for_selector("select[name=wrong]")
    assert page.locator(".vz-pad-max").all_inner_texts()[:2] == ["0.0", "0.0"]
    page.select_option("select[name=wrong]", "1")
    page.wait_for_selector(".vz-wrong-sum")
    sums = [float(t.split("–")[0]) for t in page.locator(".vz-wrong-sum").all_inner_texts()]
    assert min(sums) < 0.999  # a padded sentence: rows no longer sum to 1
    screenshot(page, "visualize-masks")


def test_every_tab_renders_and_the_page_fits_a_phone(live_server, browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN", bypass_csp=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    for slug in VIEWS:
        pg.goto(f"{live_server.url}/visualize/{slug}?text=我爱自然语言处理")
        assert pg.locator(".vz-explain").count() == 1, slug
        overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, f"/visualize/{slug} scrolls sideways by {overflow}px on a phone"
    screenshot(pg, "visualize-phone-kv-cache")
    context.close()
    assert not errors


def test_labels_of_a_64_character_heatmap_stay_inside_their_cells(live_server, page) -> None:
    """At the length limit cells are ~7 px: the labels must shrink with them, not overlap or be cut off."""
    text = ("注意力机制 Attention 让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017" * 2)[:64]
    for slug in ("attention", "masks"):
        page.goto(f"{live_server.url}/visualize/{slug}?text={text}&task=reverse&kind=decoder")
        page.wait_for_selector("#vz-panel svg.vz-svg[data-kind=heatmap]")
        boxes = page.evaluate(
            """() => {
              const svg = document.querySelector('#vz-panel svg.vz-svg[data-kind=heatmap]');
              return {cell: +svg.dataset.cell, x0: +svg.dataset.x0,
                      rows: [...svg.querySelectorAll('g.rl text')].map(t => { const b = t.getBBox();
                        return {x: b.x, y: b.y, h: b.height}; })};
            }"""
        )
        rows = boxes["rows"]
        assert len(rows) >= 65  # <bos> + the 64 output characters (and more if the model overshoots)
        for label in rows:  # a glyph box is a little taller than the font size; 11 px text overlapped its neighbours
            cell = boxes["cell"]
            assert label["h"] <= cell + 2.5, f"{slug}: a {label['h']:.0f} px label in a {cell:.1f} px row"
        assert min(r["x"] for r in rows) >= 0, f"{slug}: a row label is cut off at the left edge"


def test_character_count_follows_the_tokenizer_and_out_of_band_text_changes(live_server, page) -> None:
    page.goto(live_server.url + "/visualize/attention?text=")
    assert page.inner_text("#vz-count") == "0 / 64"
    page.click(".vz-prompt a >> nth=0")  # the example link swaps a new text box in out of band
    page.wait_for_selector("#vz-panel svg.vz-svg")
    assert page.input_value("#vz-text") == "我爱自然语言处理"
    assert page.inner_text("#vz-count") == "8 / 64"
    # Zero-width joiners and soft hyphens (Unicode Cf) are dropped by the tokenizer, so they do not count.
    with page.expect_response(lambda r: "/visualize?" in r.url):
        page.fill("#vz-text", "👨\u200d👩\u200d👧ab\u00ad")
    page.wait_for_function("document.querySelectorAll('.vz-chips li').length === 7")
    assert page.inner_text("#vz-count") == "5 / 64"


def test_no_recompute_in_the_middle_of_an_ime_composition(live_server, page) -> None:
    page.goto(live_server.url + "/visualize/attention?text=ab")
    page.wait_for_selector("#vz-panel svg.vz-svg")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/visualize?" in r.url else None)
    # pinyin being composed: the box holds "zhu" but the learner has not picked 注 yet
    page.evaluate(
        """() => { const box = document.querySelector('#vz-text'); box.value = 'abzhu';
                   box.dispatchEvent(new InputEvent('input', {bubbles: true, isComposing: true})); }"""
    )
    page.wait_for_timeout(700)  # longer than the 300 ms debounce
    assert sent == []
    with page.expect_response(lambda r: "/visualize?" in r.url and "text=ab%E6%B3%A8" in r.url):
        page.evaluate(
            """() => { const box = document.querySelector('#vz-text'); box.value = 'ab注';
                       box.dispatchEvent(new CompositionEvent('compositionend', {bubbles: true, data: '注'})); }"""
        )


def test_a_tab_clicked_right_after_typing_wins_and_sends_each_parameter_once(live_server, page) -> None:
    page.goto(live_server.url + "/visualize/attention?text=你好&head=1")
    page.wait_for_selector("#vz-panel svg.vz-svg .cells use")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.headers.get("hx-request") else None)
    page.focus("#vz-text")
    page.keyboard.press("End")
    page.keyboard.type("世界")
    page.wait_for_timeout(100)  # well inside the 300-ms pause after typing
    page.click("#vz-tab-masks")
    page.wait_for_selector("#vz-panel[data-view=masks] svg.vz-svg")
    page.wait_for_timeout(800)  # the typed recompute, had it still been pending, would have landed by now
    assert page.get_attribute("#vz-panel", "data-view") == "masks"
    assert urlsplit(page.url).path == "/visualize/masks"
    assert query(page.url)["text"] == ["你好世界"] and query(page.url)["head"] == ["1"]
    assert page.input_value("#vz-text") == "你好世界"
    assert sent, "the tab is fetched by htmx"
    for url in sent:
        repeated = {k: v for k, v in query(url).items() if len(v) > 1 and k != "others"}
        assert not repeated, f"{url} sends a parameter twice"
    # The learner's edits since the panel was drawn go along, but a link's own choice wins.
    page.select_option("select[name=layer]", "1")
    page.click("#vz-tab-attention")
    page.wait_for_selector("#vz-panel[data-view=attention] svg.vz-svg")
    assert query(page.url)["layer"] == ["1"] and query(page.url)["text"] == ["你好世界"]


def test_each_view_offers_only_the_selections_it_uses(live_server, page) -> None:
    expected = {
        "attention": {"kind", "layer", "head"},
        "model-view": {"kind"},
        "line-view": {"kind", "layer"},
        "masks": {"layer", "head"},
        "positional-encoding": set(),
        "kv-cache": {"layer", "head"},
    }
    for slug, shown in expected.items():
        page.goto(f"{live_server.url}/visualize/{slug}?text=你好&kind=decoder&layer=1&head=3")
        for name in ("kind", "layer", "head"):
            select = page.locator(f"#vz-controls select[name={name}]")
            assert select.count() == (1 if name in shown else 0), (slug, name)
        # a hidden selection is kept for the views that use it
        assert query(page.locator("#vz-tab-attention").get_attribute("href"))["head"] == ["3"]
    page.goto(f"{live_server.url}/visualize/attention?text=你好")
    assert page.locator("#vz-panel .vz-kinds").count() == 0  # one control for the kind, not two
