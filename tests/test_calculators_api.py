"""The calculators over HTTP: the JSON API's contract (exact bytes, formula with the numbers, 422 that names the
bad value), the schema's stated bounds, and the /calculators page with and without htmx."""

from __future__ import annotations

import re

import pytest

from app.main import app

KV = "/api/calculators/kv-cache"
TM = "/api/calculators/training-memory"


def test_kv_cache_llama_2_7b_mha_at_4096_tokens_is_2_gib(client):
    query = "layers=32&kv_heads=32&head_dim=128&seq_len=4096&batch=1&bytes_per_value=2&query_heads=32"
    body = client.get(f"{KV}?{query}").json()
    assert body["bytes"] == 2_147_483_648
    assert body["bytes_per_token"] == 524_288
    assert body["attention"] == "MHA"
    assert body["formula"] == "2 · 32 · 32 · 128 · 4 096 · 1 · 2 B = 2 147 483 648 B ≈ 2.00 GiB = 2.15 GB"
    assert body["human"] == {"binary": "2.00 GiB", "decimal": "2.15 GB"}


def test_kv_cache_gqa_comparison_table(client):
    body = client.get(f"{KV}?layers=32&kv_heads=8&head_dim=128&seq_len=1&query_heads=32").json()
    assert body["bytes"] == 131_072
    assert [(row["attention"], row["kv_heads"], row["bytes"], row["ratio_to_mha"]) for row in body["comparison"]] == [
        ("MHA", 32, 524_288, 1.0),
        ("GQA", 8, 131_072, 0.25),
        ("MQA", 1, 16_384, 0.03125),
    ]


def test_kv_cache_deepseek_v3_preset_is_mla(client):
    body = client.get(f"{KV}?preset=deepseek-v3&seq_len=1&batch=1&bytes_per_value=2").json()
    assert (body["attention"], body["bytes"], body["values_per_token_per_layer"]) == ("MLA", 70_272, 576)
    assert "61 · (512 + 64)" in body["formula"]
    assert body["query"]["latent_dim"] == 512


def test_explicit_fields_override_a_preset(client):
    # LLaMA-3-8B's shape with 16 layers instead of 32: 2 · 16 · 8 · 128 · 2 = 65 536
    body = client.get(f"{KV}?preset=llama-3-8b&layers=16&seq_len=1").json()
    assert body["bytes"] == 65_536


def test_training_memory_7b_mixed_adamw(client):
    body = client.get(f"{TM}?params=7000000000&precision=bf16-mixed&optimizer=adamw&zero_stage=0").json()
    assert body["bytes"] == 112_000_000_000
    assert body["breakdown"] == {
        "weights": 14_000_000_000,
        "gradients": 14_000_000_000,
        "optimizer_states": 56_000_000_000,
        "master_weights": 28_000_000_000,
        "activations": 0,
    }
    assert "7 000 000 000 参数 × (2 + 2 + 8 + 4) B = 112 000 000 000 B" in body["formula"]


def test_training_memory_zero_3_on_8_devices(client):
    body = client.get(f"{TM}?params=7e9&zero_stage=3&devices=8").json()
    assert body["bytes"] == 14_000_000_000
    assert body["human"]["decimal"] == "14.0 GB"


def test_training_memory_preset_with_activations(client):
    # LLaMA-2-7B: 6 738 415 616 × 16 = 107 814 649 856; full recomputation 32 · 2 · 4096 · 1 · 4096 = 1 073 741 824
    body = client.get(f"{TM}?preset=llama-2-7b&seq_len=4096&micro_batch=1&activation_checkpointing=true").json()
    assert body["states_bytes"] == 107_814_649_856
    assert body["breakdown"]["activations"] == 1_073_741_824
    assert body["bytes"] == 108_888_391_680


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        (f"{KV}?layers=-1&kv_heads=8&head_dim=128", "layers", "层数 (layers) 必须在 1 到 1000 之间"),
        (f"{KV}?layers=0&kv_heads=8&head_dim=128", "layers", "got 0"),
        (f"{KV}?layers=1001&kv_heads=8&head_dim=128", "layers", "layers must be between 1 and 1000, got 1001"),
        (f"{KV}?layers=abc&kv_heads=8&head_dim=128", "layers", "层数 (layers) 必须是整数"),
        (f"{KV}?layers=32&kv_heads=8&head_dim=128&seq_len=100000001", "seq_len", "between 1 and 100000000"),
        (f"{KV}?layers=32&kv_heads=8&head_dim=128&batch=1000000", "batch", "batch must be between 1 and 100000"),
        (f"{KV}?layers=32&kv_heads=8&head_dim=128&bytes_per_value=3", "bytes_per_value", "只能是 4, 2, 1, 0.5"),
        (f"{KV}?layers=32&kv_heads=8&head_dim=128&bytes_per_value=nan", "bytes_per_value", "got 'nan'"),
        (f"{TM}?params=100000000000001", "params", "params must be between 1 and 100000000000000"),
        (f"{TM}?params=seven", "params", "参数量 (params) 必须是整数"),
        (f"{TM}?params=7e9&zero_stage=4", "zero_stage", "ZeRO 阶段 (zero_stage) 必须在 0 到 3 之间"),
        (f"{TM}?params=7e9&devices=0", "devices", "devices must be between 1 and 1000000"),
    ],
)
def test_bad_fields_are_422_naming_the_value(client, url, field, message):
    response = client.get(url)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"{KV}?kv_heads=8&head_dim=128", "缺少 layers"),
        (f"{KV}?preset=gpt-5", "未知预设 (unknown preset 'gpt-5'"),
        (f"{TM}?precision=bf16", "缺少 params"),
        (f"{TM}?params=7e9&layers=32", "激活估算需要全部五项形状参数，缺少 hidden, seq_len, micro_batch, heads"),
        (f"{TM}?preset=deepseek-v3", "has no parameter count"),
    ],
)
def test_incomplete_queries_are_422_saying_what_is_missing(client, url, message):
    response = client.get(url)
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"{KV}?layers=32&kv_heads=64&head_dim=128&query_heads=32", "KV 头数 64 不能多于查询头数 32"),
        (f"{KV}?layers=32&kv_heads=8&head_dim=128&rope_dim=64", "rope_dim=64 只用于 MLA"),
        (f"{TM}?params=7e9&layers=2&hidden=100&heads=3&seq_len=8&micro_batch=1", "隐藏维度 100 必须能被头数 3 整除"),
    ],
)
def test_domain_refusals_are_one_sentence(client, url, message):
    response = client.get(url)
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_an_unknown_query_field_is_refused(client):
    response = client.get(f"{KV}?layers=32&kv_heads=8&head_dim=128&heads=8")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "heads"]


def test_the_schema_states_every_bound():
    paths = app.openapi()["paths"]
    kv = {p["name"]: p["schema"] for p in paths[KV]["get"]["parameters"]}
    assert {"layers", "kv_heads", "head_dim", "seq_len", "batch", "bytes_per_value", "latent_dim", "preset"} <= set(kv)
    assert (kv["seq_len"]["minimum"], kv["seq_len"]["maximum"]) == (1, 100_000_000)
    layers = kv["layers"]["anyOf"][0]
    assert (layers["minimum"], layers["maximum"]) == (1, 1000)
    assert kv["bytes_per_value"]["enum"] == [4.0, 2.0, 1.0, 0.5]
    tm = {p["name"]: p["schema"] for p in paths[TM]["get"]["parameters"]}
    assert tm["params"]["anyOf"][0]["maximum"] == 100_000_000_000_000
    assert (tm["zero_stage"]["minimum"], tm["zero_stage"]["maximum"]) == (0, 3)
    assert "422" in paths[KV]["get"]["responses"] and "422" in paths[TM]["get"]["responses"]
    schemas = app.openapi()["components"]["schemas"]
    assert {"bytes", "formula", "comparison"} <= set(schemas["KVCacheOut"]["required"])
    assert set(schemas["TrainingBreakdown"]["properties"]) == {
        "weights",
        "gradients",
        "optimizer_states",
        "master_weights",
        "activations",
    }


# ---------------------------------------------------------------------------------------------------- page


def test_the_page_shows_both_calculators_with_formulas(client):
    response = client.get("/calculators")
    assert response.status_code == 200
    html = response.text
    assert 'id="kv-cache"' in html and 'id="training-memory"' in html
    # defaults: LLaMA-3-8B-like GQA at 4096 tokens, and a 7B model in mixed precision with recomputation
    assert "2 · 32 · 8 · 128 · 4 096 · 1 · 2 B = 536 870 912 B" in html
    assert 'id="kv-comparison"' in html and "分组查询注意力 GQA" in html
    assert "7 000 000 000 参数 × (2 + 2 + 8 + 4) B = 112 000 000 000 B" in html
    assert 'class="math block"' in html
    assert 'href="/calculators" title="Calculators" aria-current="page"' in html


def test_a_submitted_form_without_javascript_shows_its_result(client):
    response = client.get("/calculators/training-memory?params=7B&precision=bf16-mixed&zero_stage=3&devices=8")
    assert response.status_code == 200
    # the checkbox sent nothing (unticked) and the shape was left blank: states only
    assert 'id="tm-total">14.0 GB<' in response.text
    assert 'name="params" id="tm-params" value="7000000000"' in response.text


def test_htmx_gets_the_result_fragment_and_the_url_to_show(client):
    response = client.get(
        "/calculators/kv-cache?layers=61&kv_heads=128&head_dim=128&seq_len=1&batch=1&bytes_per_value=2"
        "&latent_dim=512&rope_dim=64",
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="kv-result"')
    assert "<html" not in response.text and 'id="kv-fields"' not in response.text
    assert 'id="kv-per-token">70,272 字节<' in response.text
    assert response.headers["HX-Replace-Url"].startswith("/calculators/kv-cache?layers=61&kv_heads=128")


def test_a_preset_button_fills_the_fields_out_of_band(client):
    response = client.get(
        "/calculators/kv-cache?layers=1&kv_heads=1&head_dim=1&seq_len=4096&batch=2&bytes_per_value=2"
        "&preset=llama-3-70b",
        headers={"HX-Request": "true"},
    )
    html = response.text
    assert '<div id="kv-fields" class="calc-fields" hx-swap-oob="true">' in html
    assert 'id="kv-layers" value="80"' in html and 'id="kv-query_heads" value="64"' in html
    # the preset replaces the shape, the form keeps its sequence length and batch: 2 · 80 · 8 · 128 · 4096 · 2 · 2
    assert "= 2 684 354 560 B" in html
    assert "preset" not in response.headers["HX-Replace-Url"]


def test_bad_input_shows_the_message_in_the_form_with_422(client):
    response = client.get("/calculators/kv-cache?layers=5000&kv_heads=8&head_dim=128", headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "层数 (layers) 必须在 1 到 1000 之间 (layers must be between 1 and 1000, got 5000)" in response.text
    assert "HX-Replace-Url" not in response.headers
    full = client.get("/calculators/kv-cache?layers=%3Cscript%3Ex&kv_heads=8&head_dim=128")
    assert full.status_code == 422
    assert "<script>x" not in full.text and "&lt;script&gt;x" in full.text


def test_an_unknown_calculator_is_404(client):
    response = client.get("/calculators/flops")
    assert response.status_code == 404
    assert "Calculator not found" in response.text


def test_question_pages_link_their_calculator(client):
    html = client.get("/questions/q27").text
    assert "相关计算器" in html and 'href="/calculators#kv-cache"' in html
    assert "相关计算器" not in client.get("/questions/q01").text


def test_the_page_lists_the_related_questions_that_exist(client):
    html = client.get("/calculators").text
    related = re.search(r'<div class="calc-related small">(.*?)</div>', html, re.S)
    assert related and 'href="/questions/q27"' in related.group(1)


def test_a_preset_without_javascript_renders_the_fields_once(client):
    html = client.get("/calculators/kv-cache?layers=1&kv_heads=1&head_dim=1&seq_len=8192&preset=llama-2-7b").text
    assert html.count('id="kv-fields"') == 1
    assert 'id="kv-kv_heads" value="32"' in html
