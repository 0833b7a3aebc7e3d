"""The shipped checkpoint: quality bar on a held-out subset, the app-facing API, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# isort: off
import model  # first: imports torch with its numpy-missing warning silenced

# isort: on
import torch

from model import bench, decoding, instrument
from model.checkpoint import DEFAULT_CHECKPOINT, read_checkpoint
from model.evaluate import alignment_hits, exact_matches, expected_source_position, load_heldout
from model.tokenizer import MAX_LEN

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def loaded() -> model.LoadedModel:
    torch.set_num_threads(2)
    return model.load_model()


def test_checkpoint_files_are_small_fp16_and_complete() -> None:
    weights = DEFAULT_CHECKPOINT.with_suffix(".safetensors")
    assert weights.stat().st_size <= 10 * 1024 * 1024
    doc = json.loads(DEFAULT_CHECKPOINT.with_suffix(".json").read_text(encoding="utf-8"))
    assert len(doc["vocab"]) == doc["config"]["vocab_size"]
    assert doc["meta"]["train_config"]["steps"] > 0


def test_load_model_is_cached_and_in_eval_mode(loaded: model.LoadedModel) -> None:
    assert model.load_model() is loaded
    assert not loaded.model.training
    assert all(not p.requires_grad for p in loaded.model.parameters())


def test_done_when_sentence_is_reversed(loaded: model.LoadedModel) -> None:
    assert decoding.predict(loaded, "注意力就是你所需要的", "reverse") == "的要需所你是就力意注"
    assert decoding.predict(loaded, "注意力就是你所需要的", "copy") == "注意力就是你所需要的"


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_quality_bar_on_heldout_subset(loaded: model.LoadedModel, task: str) -> None:
    texts = load_heldout(limit=40)
    assert max(len(t) for t in texts) >= 40  # the subset reaches long sentences too
    matches = exact_matches(loaded.model, loaded.tokenizer, texts, task)
    assert sum(matches) / len(matches) >= 0.95
    hits, total = alignment_hits(loaded.model, loaded.tokenizer, texts, task)
    assert hits / total >= 0.90


def test_expected_positions_skip_the_task_token() -> None:
    assert [expected_source_position(i, 3, "copy") for i in range(3)] == [1, 2, 3]
    assert [expected_source_position(i, 3, "reverse") for i in range(3)] == [3, 2, 1]


def test_kv_cache_and_full_recomputation_give_identical_outputs(loaded: model.LoadedModel) -> None:
    for text in ["注意力就是你所需要的", "KV cache 让解码更快 2017!"]:
        for task in model.TASKS:
            assert decoding.greedy_decode(loaded, text, task, use_cache=True) == decoding.greedy_decode(
                loaded, text, task, use_cache=False
            )


def test_trace_is_json_and_consistent(loaded: model.LoadedModel) -> None:
    result = instrument.trace(loaded, "位置编码 PE", "reverse", layer=1, head=2, kind="cross")
    json.dumps(result)  # plain data only
    assert result["output"] == "EP 码编置位"
    n_src, n_tgt = len(result["source_tokens"]), len(result["target_tokens"])
    assert n_src == 7 + 2 and n_tgt == 7 + 1
    assert [t["text"] for t in result["source_tokens"]][:2] == ["<reverse>", "位"]
    cross = result["attention"]["cross"][1][2]
    assert len(cross["weights"]) == n_tgt and len(cross["weights"][0]) == n_src
    enc = result["attention"]["encoder"][0][0]
    assert all(abs(sum(row) - 1) < 1e-4 for row in enc["weights"])
    dec = result["attention"]["decoder"][0][0]
    for i, (row, mask_row) in enumerate(zip(dec["weights"], dec["mask"], strict=True)):
        assert mask_row == [j <= i for j in range(n_tgt)]  # causal mask as applied
        assert all(w == 0.0 for w, m in zip(row, mask_row, strict=True) if not m)
    focus = result["focus"]
    assert (focus["kind"], focus["layer"], focus["head"], focus["d_k"]) == ("cross", 1, 2, loaded.config.d_k)
    assert len(focus["q"]) == n_tgt and len(focus["k"]) == n_src and len(focus["q"][0]) == focus["d_k"]
    assert focus["weights"] == cross["weights"]
    assert len(result["positional_encoding"]["source"]) == n_src
    assert result["positional_encoding"]["source"][0][:2] == [0.0, 1.0]  # sin 0, cos 0


def test_trace_encoder_focus_layer0_input_is_embedding_plus_pe(loaded: model.LoadedModel) -> None:
    result = instrument.trace(loaded, "好", "copy", layer=0, head=0, kind="encoder")
    m = loaded.model
    ids = torch.tensor([[t["id"] for t in result["source_tokens"]]])
    expected = (m.src_embed(ids)[0] + m.pe[: ids.size(1)]).double()
    assert torch.allclose(torch.tensor(result["focus"]["x"], dtype=torch.float64), expected, atol=1e-5)


def test_trace_rejects_bad_input(loaded: model.LoadedModel) -> None:
    with pytest.raises(ValueError, match="empty"):
        instrument.trace(loaded, "", "copy")
    with pytest.raises(ValueError, match=f"MAX_LEN = {MAX_LEN}"):
        instrument.trace(loaded, "长" * (MAX_LEN + 1), "copy")
    with pytest.raises(ValueError, match="kind"):
        instrument.trace(loaded, "ok", "copy", kind="sideways")
    with pytest.raises(ValueError, match="layer"):
        instrument.trace(loaded, "ok", "copy", layer=9)


def test_trace_batch_padded_keys_get_exactly_zero_weight(loaded: model.LoadedModel) -> None:
    result = instrument.trace_batch(loaded, ["短", "长一点的句子", "medium"], "copy", layer=1, head=3)
    json.dumps(result)
    assert result["padded_length"] == 6 + 2
    for b, mask in enumerate(result["key_padding_mask"]):
        assert sum(mask) == result["sequences"][b]["length"]
        for row in result["weights"][b]:
            assert all(w == 0.0 for w, real in zip(row, mask, strict=True) if not real)
            assert abs(sum(row) - 1) < 1e-4


def test_incremental_steps_grow_the_cache_one_row_per_step(loaded: model.LoadedModel) -> None:
    result = decoding.incremental_steps(loaded, "缓存", "copy", steps=2, head=1)
    assert [s["token"]["text"] for s in result["steps"]] == ["缓", "存"]
    assert result["steps"][0]["input_token"]["text"] == "<bos>"
    for t, step in enumerate(result["steps"]):
        for layer in step["layers"]:
            assert len(layer["k"]) == len(layer["v"]) == len(layer["weights"]) == t + 1
            assert len(layer["cross_weights"]) == 4
    full = decoding.incremental_steps(loaded, "缓存", "copy")
    assert full["done"] and full["output"] == "缓存" and full["steps"][-1]["token"]["text"] == "<eos>"
    # the cache is what a full recomputation would produce: step 1's first K row equals step 0's
    assert full["steps"][1]["layers"][0]["k"][0] == full["steps"][0]["layers"][0]["k"][0]


def test_time_decode_reports_per_step_times(loaded: model.LoadedModel) -> None:
    r = bench.time_decode(loaded, bench.bench_text(8), use_cache=True, n_tokens=8, repeats=2)
    assert r["n_tokens"] == 8 and len(r["per_step_ms"]) == 8 and all(v > 0 for v in r["per_step_ms"])
    assert bench.time_trace(loaded, "好", repeats=1) > 0


def test_fp16_round_trip_reads_back_the_same_weights(tmp_path: Path, loaded: model.LoadedModel) -> None:
    from model.checkpoint import save_checkpoint

    save_checkpoint(loaded.model, loaded.tokenizer, tmp_path / "copy")
    again = read_checkpoint(tmp_path / "copy")
    for a, b in zip(loaded.model.state_dict().values(), again.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", "-m", "model", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_cli_predict_arguments_and_stdin() -> None:
    done = run_cli("predict", "--task", "reverse", "注意力就是你所需要的", "abc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["的要需所你是就力意注", "cba"]
    bad = run_cli("predict", "--task", "copy", stdin="你好\n\n" + "长" * 65 + "\nok\n")
    assert bad.returncode != 0
    assert bad.stdout.splitlines() == ["你好", "ok"]  # good lines still processed
    assert "input 2" in bad.stderr and "empty" in bad.stderr
    assert "input 3" in bad.stderr and "MAX_LEN = 64" in bad.stderr


def test_long_evaluation_texts_fill_their_band_from_held_out_sentences_only():
    from model.evaluate import LONG_BANDS, long_texts

    heldout = load_heldout()
    for band in LONG_BANDS:
        texts = long_texts(heldout, band, n=20)
        assert texts == long_texts(heldout, band, n=20)  # deterministic
        assert all(band[0] <= len(t) <= band[1] for t in texts)
        assert all(any(t.startswith(h) or h.startswith(t) for h in heldout) for t in texts)
