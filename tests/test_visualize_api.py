"""JSON API of the visualizer: POST /api/attention and GET /api/positional-encoding, including bad input."""

from __future__ import annotations

import math
import threading

import pytest

from app.services import visualize as svc
from tests.utils.visualize_model import TINY_CONFIG, visualizer_model, write_tiny_checkpoint


@pytest.fixture(scope="module", autouse=True)
def tiny_model(tmp_path_factory):
    with visualizer_model(write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))):
        yield


def test_attention_returns_tokens_output_and_every_weight_matrix(client) -> None:
    r = client.post(
        "/api/attention", json={"text": "我爱NLP", "task": "reverse", "kind": "cross", "layer": 0, "head": 1}
    )
    assert r.status_code == 200
    data = r.json()
    assert [t["text"] for t in data["tokens"]] == ["<reverse>", "我", "爱", "N", "L", "P", "<eos>"]
    assert isinstance(data["output"], str) and data["max_len"] == 64
    S, T = len(data["tokens"]), len(data["target_tokens"])
    enc, dec, cross = data["attention"]["encoder"], data["attention"]["decoder"], data["attention"]["cross"]
    assert (len(enc), len(enc[0]), len(enc[0][0]), len(enc[0][0][0])) == (2, 2, S, S)
    assert (len(dec), len(dec[0]), len(dec[0][0]), len(dec[0][0][0])) == (1, 2, T, T)
    assert (len(cross), len(cross[0]), len(cross[0][0]), len(cross[0][0][0])) == (1, 2, T, S)
    for row in enc[1][0]:
        assert sum(row) == pytest.approx(1.0, abs=1e-4)
    sel = data["selected"]
    assert (sel["kind"], sel["layer"], sel["head"]) == ("cross", 0, 1)
    d_k = TINY_CONFIG["d_model"] // TINY_CONFIG["n_heads"]
    assert len(sel["q"]) == T and len(sel["q"][0]) == d_k and len(sel["k"]) == S and len(sel["v"][0]) == d_k
    assert sel["weights"] == cross[0][1]
    # scores are QKᵀ/√d_k: check one entry against Q and K.
    q, k = sel["q"][1], sel["k"][2]
    assert sel["scores"][1][2] == pytest.approx(
        sum(a * b for a, b in zip(q, k, strict=True)) / math.sqrt(d_k), abs=1e-4
    )


def test_attention_defaults_to_copy_and_the_encoder(client) -> None:
    data = client.post("/api/attention", json={"text": "hi"}).json()
    assert data["task"] == "copy" and data["tokens"][0]["text"] == "<copy>"
    assert data["selected"]["kind"] == "encoder"


def test_decoder_self_attention_is_causal(client) -> None:
    sel = client.post("/api/attention", json={"text": "abcd", "kind": "decoder"}).json()["selected"]
    for i, row in enumerate(sel["weights"]):
        assert all(w == 0.0 for w in row[i + 1 :])
        assert all(sel["mask"][i][j] == (j <= i) for j in range(len(row)))


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"text": ""}, "text is empty"),
        ({"text": "\n\t"}, "text is empty"),
        ({"text": "  \u3000 "}, "text is empty (nothing but spaces or control characters)"),
        ({"text": "长" * 65}, "the maximum is 64 characters"),
        ({"text": "hi", "kind": "decoder", "layer": 1}, "layer must be in 0..0 for decoder, got 1"),
        ({"text": "hi", "head": 2}, "head must be in 0..1, got 2"),
    ],
)
def test_attention_domain_errors_are_422_with_a_clear_detail(client, body, detail) -> None:
    before = svc.TRACE_CACHE.misses
    r = client.post("/api/attention", json=body)
    assert r.status_code == 422
    assert detail in r.json()["detail"]
    assert svc.TRACE_CACHE.misses == before  # nothing was computed


@pytest.mark.parametrize(
    "body",
    [
        {"text": "hi", "task": "translate"},
        {"text": "hi", "kind": "self"},
        {"text": "hi", "layer": -1},
        {"text": 42},
        {"task": "copy"},
        {"text": "hi", "extra": 1},
        {"text": "x" * (svc.RAW_TEXT_MAX + 1)},
    ],
)
def test_attention_schema_errors_are_422(client, body) -> None:
    r = client.post("/api/attention", json=body)
    assert r.status_code == 422
    assert r.json()["detail"]


def test_malformed_and_oversized_bodies_are_refused(client) -> None:
    assert (
        client.post("/api/attention", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 422
    )
    big = b'{"text": "' + b"a" * 2_100_000 + b'"}'
    r = client.post("/api/attention", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_xss_text_comes_back_as_plain_json_data(client) -> None:
    r = client.post("/api/attention", json={"text": "<img src=x onerror=alert(1)>"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert [t["text"] for t in r.json()["tokens"][1:4]] == ["<", "i", "m"]


def test_concurrent_requests_each_get_their_own_sentence(client) -> None:
    texts = ["abc", "你好", "xyz12", "注意力", "KV"]
    results: dict[str, dict] = {}

    def call(text: str) -> None:
        results[text] = client.post("/api/attention", json={"text": text, "task": "reverse"}).json()

    threads = [threading.Thread(target=call, args=(t,)) for t in texts * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text in texts:
        assert "".join(t["text"] for t in results[text]["tokens"][1:-1]) == text


def test_positional_encoding_matches_the_formula(client) -> None:
    r = client.get("/api/positional-encoding", params={"length": 5, "d_model": 6})
    assert r.status_code == 200
    m = r.json()["matrix"]
    assert len(m) == 5 and all(len(row) == 6 for row in m)
    for pos in range(5):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert m[pos][2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert m[pos][2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"length": 0, "d_model": 8}, "length"),
        ({"length": 513, "d_model": 8}, "length"),
        ({"length": 4, "d_model": 7}, "even"),
        ({"length": 4, "d_model": 1026}, "d_model"),
        ({"length": "ten", "d_model": 8}, "length"),
    ],
)
def test_positional_encoding_bounds(client, params, needle) -> None:
    r = client.get("/api/positional-encoding", params=params)
    assert r.status_code == 422
    assert needle in str(r.json()["detail"])
