"""Pure pieces of the visualizer service: alignment scoring, the scaling experiment, state parsing, caching."""

from __future__ import annotations

import math

import pytest

from app.services import visualize as svc
from model import instrument
from tests.utils.visualize_model import visualizer_model, write_tiny_checkpoint


@pytest.fixture(scope="module", autouse=True)
def tiny_model(tmp_path_factory):
    with visualizer_model(write_tiny_checkpoint(tmp_path_factory.mktemp("tiny"))):
        yield


def fake_trace(task: str, n: int, heads: list[list[list[float]]]) -> dict:
    source = [{"text": "<t>"}] + [{"text": str(i)} for i in range(n)] + [{"text": "<eos>"}]
    target = [{"text": "<bos>"}] + [{"text": str(i)} for i in range(n)]
    return {
        "task": task,
        "char_offset": 1,
        "source_tokens": source,
        "target_tokens": target,
        "attention": {"cross": [[{"weights": h} for h in heads]]},
    }


def one_hot_rows(targets: list[int], width: int) -> list[list[float]]:
    return [[1.0 if j == t else 0.0 for j in range(width)] for t in targets]


def test_expected_alignment_is_shifted_diagonal_for_copy_and_anti_diagonal_for_reverse() -> None:
    assert svc.expected_alignment(fake_trace("copy", 3, [])) == [(0, 1), (1, 2), (2, 3)]
    assert svc.expected_alignment(fake_trace("reverse", 3, [])) == [(0, 3), (1, 2), (2, 1)]


def test_alignment_scores_each_head_and_the_head_average() -> None:
    n, width = 4, 6
    perfect = one_hot_rows([4, 3, 2, 1, 5], width)  # reverse, then <eos>
    half = one_hot_rows([4, 3, 0, 0, 5], width)
    for row, right in ((2, 2), (3, 1)):  # wrong peak, but some weight on the right key
        half[row] = [0.4 if j == 0 else 0.3 if j == right else 0.075 for j in range(width)]
    tr = fake_trace("reverse", n, [perfect, half])
    table = svc.alignment_table(tr)
    assert table == [[1.0, 0.5, 1.0]]  # head 0, head 1, mean of both
    best = svc.best_alignment(tr)
    assert (best["layer"], best["head"], best["score"], best["positions"]) == (0, 0, 1.0, 4)


def test_entropy_and_masked_softmax() -> None:
    assert svc.entropy_bits([0.25] * 4) == pytest.approx(2.0)
    assert svc.entropy_bits([1.0, 0.0]) == 0.0
    w = svc.softmax_masked([1.0, 2.0, 50.0], [True, True, False])
    assert w[2] == 0.0 and sum(w) == pytest.approx(1.0)
    assert w[1] / w[0] == pytest.approx(math.e)
    assert all(math.isnan(x) for x in svc.softmax_masked([1.0, 2.0], [False, False]))  # no key: no distribution


def test_the_server_side_kinds_are_the_models() -> None:
    assert svc.KINDS == instrument.KINDS  # state.py spells them out so that the web server needs no torch


def test_scaling_experiment_measures_variance_growing_with_d_k() -> None:
    exp = svc.scaling_experiment()
    assert exp["d_k"][0] == 4 and exp["d_k"][-1] == 1024
    for d, raw, scaled in zip(exp["d_k"], exp["var_raw"], exp["var_scaled"], strict=True):
        assert raw == pytest.approx(d, rel=0.15)  # Var(q·k) = d_k for unit-variance components
        assert scaled == pytest.approx(1.0, rel=0.15)
    assert exp["max_raw"][-1] > 0.9 > 0.5 > exp["max_scaled"][-1]  # unscaled softmax saturates
    assert svc.scaling_experiment() is exp  # seeded and computed once


def test_matrix_view_truncates_large_matrices_around_the_selected_row() -> None:
    values = [[float(i * 100 + j) for j in range(20)] for i in range(30)]
    m = svc.matrix_view("X", "x", values, row_labels=[str(i) for i in range(30)], row=25)
    assert m.shape == (30, 20)
    assert len(m.cells) == svc.TABLE_ROWS and len(m.cells[0]) == svc.TABLE_COLS
    assert m.row_labels[m.highlight] == "25"
    assert m.cells[m.highlight][0][0] == "2500.000"
    assert "共 30 行" in m.note and "共 20 列" in m.note


def test_check_text_cleans_and_bounds() -> None:
    assert svc.check_text("a\tb") == ("ab", None)
    assert svc.check_text("\n")[1] == "empty"
    cleaned, problem = svc.check_text("字" * 65)
    assert len(cleaned) == 65 and "上限 64 个字符" in problem


def test_the_trace_is_cached_per_text_and_task() -> None:
    svc.TRACE_CACHE.clear()
    a = svc.get_trace(text="缓存", task="copy")
    assert svc.get_trace(text="缓存", task="copy") is a
    assert svc.get_trace(text="缓存", task="reverse") is not a
    assert (svc.TRACE_CACHE.hits, svc.TRACE_CACHE.misses) == (1, 2)


def test_lru_evicts_the_least_recently_used_entry() -> None:
    cache, calls = svc.LRU(2), []

    def compute(key: str):
        return lambda: calls.append(key) or key.upper()

    assert cache.get_or_compute(("a",), compute("a")) == "A"
    cache.get_or_compute(("b",), compute("b"))
    cache.get_or_compute(("a",), compute("a"))  # a is now the most recent
    cache.get_or_compute(("c",), compute("c"))  # evicts b
    cache.get_or_compute(("a",), compute("a"))
    cache.get_or_compute(("b",), compute("b"))
    assert calls == ["a", "b", "c", "b"]


def test_positional_encoding_view_shows_dependence_on_offset_only() -> None:
    state = svc.State(view="positional-encoding", text="我爱自然语言处理")
    page = svc.build_page(state, [])
    assert page.view["length"] == 10
    assert page.view["diag_spread"] < 1e-4
    assert page.view["same_as_model"] < 1e-5
    assert page.view["wavelengths"][0] == (0, pytest.approx(2 * math.pi))


@pytest.mark.parametrize(("kind", "layer", "head"), [("encoder", 1, 1), ("decoder", 0, 1), ("cross", 0, 0)])
def test_switching_heads_slices_the_same_numbers_instrument_trace_reports(kind, layer, head) -> None:
    svc.clear_caches()
    text, task = "注意力 KV", "reverse"
    mine = svc.get_focus_trace(text=text, task=task, kind=kind, layer=layer, head=head)
    misses = svc.TRACE_CACHE.misses
    svc.get_focus_trace(text=text, task=task, kind=kind, layer=layer, head=1 - head)
    assert svc.TRACE_CACHE.misses == misses  # another head: no new greedy decode
    reference = instrument.trace(svc.loaded_model(), text, task, layer=layer, head=head, kind=kind)
    assert mine["focus"] == reference["focus"]
    assert mine["attention"] == reference["attention"]


def test_step_by_step_cross_attention_shows_the_keys_the_selected_query_attends_to() -> None:
    """Reverse cross-attention looks at the far end of the source: those key columns must be in the tables."""
    text = "abcdefghijklmnopqrstuvwxyz0123"  # 30 characters -> 32 source keys, far more than TABLE_COLS
    tr = svc.get_focus_trace(text=text, task="reverse", kind="cross", layer=0, head=0)
    weights = tr["focus"]["weights"]
    keys = svc.labels(tr["source_tokens"])
    far_rows = [r for r, w in enumerate(weights) if max(range(len(w)), key=w.__getitem__) >= svc.TABLE_COLS]
    assert far_rows, "the test needs a query whose strongest key lies beyond the first table window"
    for r in far_rows[:3]:
        state = svc.State(view="step-by-step", text=text, task="reverse", kind="cross", row=r)
        view = svc.view_steps(state, tr)
        best = max(range(len(weights[r])), key=weights[r].__getitem__)
        for name in ("QKᵀ", "QKᵀ/√d_k", "+ mask", "softmax"):
            (m,) = [s for s in view["steps"] if s.name == name]
            # every key column is shown: the whole attention row, not a window of TABLE_COLS
            assert m.col_labels == keys and len(m.cells[0]) == len(keys), (name, r)
        (softmax,) = [s for s in view["steps"] if s.name == "softmax"]
        shown = [float(text) for text, _ in softmax.cells[softmax.highlight]]
        assert max(shown) == pytest.approx(weights[r][best], abs=1e-3)
        (k,) = [s for s in view["steps"] if s.name == "K"]
        assert k.row_labels[k.highlight] == keys[best]
