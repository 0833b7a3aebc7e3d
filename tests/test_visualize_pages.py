"""The visualizer pages and fragments: every demo slug, shared state in the URL, bounds and bad input."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from app.demos import DEMOS
from app.services import visualize as svc
from model.checkpoint import DEFAULT_CHECKPOINT
from tests.utils.visualize_model import visualizer_model, write_tiny_checkpoint

NS = {"s": "http://www.w3.org/2000/svg"}
HX = {"HX-Request": "true", "HX-Trigger": "vz-form"}
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module", autouse=True)
def tiny_model(tmp_path_factory):
    with visualizer_model(write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))):
        yield


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


@pytest.mark.parametrize("slug", list(DEMOS))
def test_every_demo_is_a_tab_served_as_page_and_fragment(client, slug) -> None:
    page = client.get(f"/visualize/{slug}", params={"text": "我爱自然语言处理", "task": "reverse"})
    assert page.status_code == 200, page.text[:500]
    assert '<form id="vz-form"' in page.text and "<html" in page.text
    for other in DEMOS:
        assert f'id="vz-tab-{other}"' in page.text
    assert re.search(rf'id="vz-tab-{slug}" href="[^"]+"[^>]*aria-current="page"', page.text)

    fragment = client.get(f"/visualize/{slug}", params={"text": "我爱自然语言处理", "task": "reverse"}, headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="vz-panel"') and "<html" not in fragment.text
    assert ('class="vz-dl' in fragment.text) == (slug != "step-by-step")  # every chart offers an SVG download
    for chart in svgs(fragment.text):  # every chart is well-formed, standalone SVG
        assert chart.tag == "{http://www.w3.org/2000/svg}svg"


def test_heatmap_for_a_known_sentence_has_one_cell_per_token_pair(client) -> None:
    r = client.get(
        "/visualize/attention",
        params={"text": "我爱自然语言处理", "kind": "encoder", "layer": "1", "head": "1"},
        headers=HX,
    )
    (chart,) = svgs(r.text)
    cells = chart.findall(".//s:g[@class='cells']/s:g/s:use", NS)
    assert len(cells) == 10 * 10  # <copy> + 8 characters + <eos>, queries × keys
    row_labels = [t.text for t in chart.findall(".//s:g[@class='lab rl']/s:text", NS)]
    assert row_labels == ["<copy>", *"我爱自然语言处理", "<eos>"]
    # Each row of weights sums to 1 (values are in the cell titles).
    first_row = [float(c.find("s:title", NS).text) for c in cells[:10]]
    assert sum(first_row) == pytest.approx(1.0, abs=1e-3)


def test_cross_attention_rows_are_decoder_positions_and_columns_source(client) -> None:
    r = client.get("/visualize/attention", params={"text": "abc", "kind": "cross"}, headers=HX)
    (chart,) = svgs(r.text)
    tr = svc.get_trace(text="abc", task="copy")
    n_rows, n_cols = len(tr["target_tokens"]), len(tr["source_tokens"])
    assert len(chart.findall(".//s:g[@class='cells']/s:g/s:use", NS)) == n_rows * n_cols
    assert len(chart.findall(".//s:g[@class='outline']/s:rect", NS)) == min(3, n_rows)


def test_typing_replaces_the_url_and_links_push_it_with_fresh_controls(client) -> None:
    params = {"text": "你好", "task": "reverse", "kind": "decoder", "layer": "0", "head": "1"}
    typed = client.get("/visualize", params={**params, "view": "masks"}, headers=HX)
    url = typed.headers["HX-Replace-Url"]
    assert urlsplit(url).path == "/visualize/masks"
    query = parse_qs(urlsplit(url).query)
    assert query["text"] == ["你好"] and query["task"] == ["reverse"] and query["head"] == ["1"]
    assert "hx-swap-oob" not in typed.text  # never replace the form the learner is typing in

    clicked = client.get(
        "/visualize/scaling", params=params, headers={"HX-Request": "true", "HX-Trigger": "vz-tab-scaling"}
    )
    assert urlsplit(clicked.headers["HX-Push-Url"]).path == "/visualize/scaling"
    assert 'id="vz-controls" class="vz-controls" hx-swap-oob="true"' in clicked.text
    assert '<input type="hidden" name="view" value="scaling">' in clicked.text


def test_state_round_trips_through_the_permalink(client) -> None:
    state = svc.State(
        view="masks", text="a&b=c", task="reverse", kind="cross", layer=0, head=1, others=("x", "yz"), wrong=True
    )
    parsed, errors = svc.parse_state("masks", parse_qs(urlsplit(state.url()).query, keep_blank_values=True))
    assert errors == [] and parsed == state


def test_empty_text_shows_a_prompt_and_runs_nothing(client) -> None:
    before = svc.TRACE_CACHE.misses
    for text in ["", "   ", "\n\t\x00"]:
        r = client.get("/visualize/attention", params={"text": text}, headers=HX)
        assert r.status_code == 200
        assert "先在上面输入一句话" in r.text and "<svg" not in r.text
    assert svc.TRACE_CACHE.misses == before


def test_too_long_text_names_the_limit_and_computes_nothing(client) -> None:
    before = svc.TRACE_CACHE.misses
    r = client.get("/visualize/attention", params={"text": "长" * 65}, headers=HX)
    assert r.status_code == 422
    assert "65 个字符" in r.text and "上限 64 个字符" in r.text and "<svg" not in r.text
    huge = client.get("/visualize/attention", params={"text": "x" * 5000})
    assert huge.status_code == 422 and "上限 64 个字符" in huge.text
    assert 'value="' + "x" * (svc.RAW_TEXT_MAX + 1) not in huge.text  # the echo is bounded too
    assert svc.TRACE_CACHE.misses == before


@pytest.mark.parametrize("slug", list(DEMOS))
def test_script_typed_as_the_sentence_is_escaped_in_every_view(client, slug) -> None:
    for headers in ({}, HX):
        r = client.get(
            f"/visualize/{slug}", params={"text": XSS, "others": [XSS, "<script>alert(2)</script>"]}, headers=headers
        )
        assert r.status_code == 200
        assert "<img src=x" not in r.text and "<script>alert" not in r.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in r.text or "&lt;" in r.text


@pytest.mark.parametrize(
    "text",
    [
        "😀🤖 emoji",
        "مرحبا بالعالم",  # right-to-left
        "שלום עולם",
        "e\u0301 n\u0303 combining",
        "a\x00b\x07c\td\ne",  # control characters are dropped
        "\u202eRLO\u200d zero-width",
        "</svg><script>alert(1)</script>",
        "${7*7}{{7*7}}'\"`",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
    ],
)
def test_any_unicode_renders_every_view_without_a_500(client, text) -> None:
    for slug in DEMOS:
        r = client.get(f"/visualize/{slug}", params={"text": text}, headers=HX)
        assert r.status_code == 200, (slug, r.text[:300])
        assert "<script>alert" not in r.text
        for chart in svgs(r.text):
            assert chart is not None


def test_unknown_characters_are_marked_unk(client) -> None:
    r = client.get("/visualize/attention", params={"text": "我😀"}, headers=HX)
    assert re.search(r'<li class="chip unk"[^>]*>😀</li>', r.text)
    assert "有 1 个字符不在词表中" in r.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"layer": "9"}, "layer 必须在 0–1 之间（收到 9）"),
        ({"kind": "cross", "layer": "1"}, "layer 必须在 0–0 之间（收到 1）"),
        ({"head": "2"}, "head 必须在 0–1 之间（收到 2）"),
        ({"head": "abc"}, "head 必须是整数"),
        ({"kind": "bogus"}, "未知注意力类型"),
        ({"task": "translate"}, "未知任务"),
        ({"others": ["a", "b", "c"]}, "最多再加 2 句"),
        ({"dims": "0,999"}, "维度必须是 0–31 的整数"),
        ({"dims": "0,1,2,3,4,5,6"}, "最多画 6 条曲线"),
    ],
)
def test_bad_selections_re_render_the_form_with_a_message(client, params, message) -> None:
    r = client.get("/visualize/masks", params={"text": "你好", **params}, headers=HX)
    assert r.status_code == 422
    assert message in r.text


def test_unknown_demo_is_404(client) -> None:
    r = client.get("/visualize/nope")
    assert r.status_code == 404 and "Demo not found" in r.text


def test_plain_form_submit_without_javascript_works(client) -> None:
    r = client.get(
        "/visualize",
        params={
            "view": "cross-attention",
            "text": "abc",
            "task": "reverse",
            "kind": "cross",
            "layer": "0",
            "head": "0",
        },
    )
    assert r.status_code == 200
    assert 'action="/visualize"' in r.text and 'id="vz-best"' in r.text


def test_related_questions_are_linked_from_each_view(client) -> None:
    expected = {
        "attention": "q03",
        "scaling": "q04",
        "masks": "q09",
        "positional-encoding": "q12",
        "kv-cache": "q14",
        "cross-attention": "q10",
        "step-by-step": "q21",
        "model-view": "q05",
        "line-view": "q05",
    }
    for slug, qid in expected.items():
        r = client.get(f"/visualize/{slug}", params={"text": "abc"}, headers=HX)
        assert f'href="/questions/{qid}"' in r.text, slug
        for q in svc.questions_for_demo(slug):
            assert f'href="/questions/{q.id}"' in r.text


def test_masks_view_proves_padding_gets_zero_weight_and_wrong_order_breaks_row_sums(client) -> None:
    right = client.get("/visualize/masks", params={"text": "我爱自然语言处理", "others": ["你好", ""]}, headers=HX)
    assert right.status_code == 200
    assert re.findall(r'class="vz-pad-max">([^<]+)<', right.text) == ["0.0", "0.0"]
    assert 'id="vz-above-max">0.0<' in right.text
    assert "vz-wrong-sum" not in right.text
    wrong = client.get(
        "/visualize/masks", params={"text": "我爱自然语言处理", "others": ["你好"], "wrong": "1"}, headers=HX
    )
    sums = re.findall(r'class="vz-wrong-sum">([0-9.]+) – ([0-9.]+)<', wrong.text)
    # The long sentence has no padding (sums stay 1); the short one loses the weight its <pad> keys had.
    assert float(sums[0][0]) == pytest.approx(1.0, abs=1e-3)
    assert float(sums[1][0]) < 0.999


def test_kv_cache_stepping_is_recomputed_from_text_and_steps(client) -> None:
    def step(n: int) -> str:
        r = client.get(
            "/visualize/kv-cache",
            params={"text": "你好吗", "steps": str(n)},
            headers={"HX-Request": "true", "HX-Trigger": "vz-kv-next"},
        )
        assert r.status_code == 200
        assert r.headers["HX-Replace-Url"].endswith(f"steps={n}")
        return r.text

    two = step(2)
    assert 'id="vz-steps">2<' in two
    assert len(re.findall(r'<li class="chip', two.split('class="vz-chips vz-kv-seq"')[1].split("</ol>")[0])) == 2
    assert step(3).count("<tr") > two.count("<tr")  # one more cached K row and V row
    assert step(2) == two or 'id="vz-steps">2<' in step(2)
    # Absurd step counts are clamped to the decoding limit, never an error.
    assert "最多" in step(999)


def test_missing_weights_give_a_clear_503_not_a_crash(client, tmp_path) -> None:
    with visualizer_model(tmp_path / "nothing-here"):
        page = client.get("/visualize/attention", params={"text": "abc"})
        api = client.post("/api/attention", json={"text": "abc"})
    assert page.status_code == 503 and "python -m model.train" in page.text
    assert api.status_code == 503 and "model weights missing" in api.json()["detail"]


def test_step_by_step_names_the_score_shape_of_the_selected_attention(client) -> None:
    cross = client.get("/visualize/step-by-step", params={"text": "abc", "kind": "cross"}, headers=HX).text
    assert "QKᵀ 是 T × S" in cross and "QKᵀ 是 T × T" not in cross
    encoder = client.get("/visualize/step-by-step", params={"text": "abc", "kind": "encoder"}, headers=HX).text
    assert "QKᵀ 是 T × T" in encoder


def test_kv_cache_counts_the_steps_actually_decoded_when_eos_comes_first(client) -> None:
    """Asking for the step limit: the trained model stops at <eos> first and the page says where."""
    with visualizer_model(DEFAULT_CHECKPOINT):
        r = client.get("/visualize/kv-cache", params={"text": "你好", "steps": "999"}, headers=HX)
    assert r.status_code == 200
    assert "已生成 &lt;eos&gt;，解码结束" in r.text
    assert 'id="vz-steps">3<' in r.text  # 你, 好, <eos>
    assert re.search(r'id="vz-kv-prev" [^>]*href="[^"]*steps=2"', r.text)  # one click back shows step 2
    assert "新 query 对 3 行缓存的自注意力" in r.text


def _matrix_header(html: str, name: str) -> list[str]:
    """Column labels of the step-by-step table called ``name``."""
    table = html.split(f"<strong>{name}</strong>", 1)[1].split("</thead>", 1)[0]
    return re.findall(r"<th>([^<]*)</th>", table)[1:]  # the first header cell is the row-label corner


def test_step_by_step_shows_whole_attention_rows_and_a_window_of_the_dimensions(client) -> None:
    html = client.get("/visualize/step-by-step", params={"text": "我爱自然语言处理", "row": "3"}, headers=HX).text
    keys = ["&lt;copy&gt;", *"我爱自然语言处理", "&lt;eos&gt;"]
    for name in ("QKᵀ", "QKᵀ/√d_k", "+ mask", "softmax"):
        assert _matrix_header(html, name) == keys, name  # all 10 key columns, not the first 8
    assert len(_matrix_header(html, "Q")) == svc.TABLE_COLS  # d_k columns stay a window


def test_kv_cache_names_the_real_number_of_decode_steps(client) -> None:
    """A 6-character copy takes 7 steps (6 characters, then <eos>): the page says 7, not the step limit."""
    with visualizer_model(DEFAULT_CHECKPOINT):
        first = client.get("/visualize/kv-cache", params={"text": "你好吗我很好", "steps": "1"}, headers=HX).text
        last = client.get("/visualize/kv-cache", params={"text": "你好吗我很好", "steps": "999"}, headers=HX).text
    assert '共 <span id="vz-steps-total">7</span> 步' in first and "最多" not in first
    assert re.search(r'id="vz-kv-end" [^>]*href="[^"]*steps=7"', first)
    assert 'id="vz-steps">7<' in last and 'id="vz-kv-next"' not in last
