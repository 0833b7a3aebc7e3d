"""Held-out quality of a checkpoint: greedy exact match and cross-attention alignment, per task.

    python -m model.evaluate [--checkpoint PATH] [--limit N]

Exact match: the greedy output equals the expected output (the text, or the text reversed).
Alignment: in a teacher-forced pass over the expected output, the cross-attention of the last
decoder layer, averaged over heads, has its maximum on the expected source position for each
output character: 1 + i for copy and 1 + (n - 1 - i) for reverse (the 1 skips the task token).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .checkpoint import MODEL_DIR, LoadedModel, load_model
from .data import Corpus, heldout_set, script_of
from .decoding import greedy_decode_ids, source_batch
from .tokenizer import BOS, PAD, TASKS, CharTokenizer
from .transformer import Transformer

CORPUS_PATH = MODEL_DIR / "corpus.json"
CHAR_OFFSET = 1  # source position of the first character: position 0 holds the task token


def expected_output(text: str, task: str) -> str:
    return text if task == "copy" else text[::-1]


def expected_source_position(i: int, n: int, task: str) -> int:
    """Source index the i-th output character (of n) is taken from."""
    return CHAR_OFFSET + (i if task == "copy" else n - 1 - i)


@torch.no_grad()
def exact_matches(
    model: Transformer, tokenizer: CharTokenizer, texts: Sequence[str], task: str, batch_size: int = 64
) -> list[bool]:
    """Per text: does greedy decoding reproduce the expected output exactly?"""
    results = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        ids = greedy_decode_ids(model, source_batch(tokenizer, chunk, task))
        results += [
            tokenizer.decode(row) == expected_output(t, task) for t, row in zip(chunk, ids.tolist(), strict=True)
        ]
    return results


@torch.no_grad()
def alignment_hits(
    model: Transformer, tokenizer: CharTokenizer, texts: Sequence[str], task: str, batch_size: int = 64
) -> tuple[int, int]:
    """(output positions whose head-averaged last-layer cross-attention peaks where expected, all positions)."""
    hits = total = 0
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        src = source_batch(tokenizer, chunk, task)  # (B, S)
        targets = [[BOS, *tokenizer.encode(expected_output(t, task))] for t in chunk]
        width = max(len(t) for t in targets)
        tgt = torch.tensor([t + [PAD] * (width - len(t)) for t in targets])  # (B, T)
        trace: dict = {}
        model(src, tgt, trace=trace)
        weights = trace["decoder"][-1]["cross_attn"]["weights"].mean(dim=1)  # (B, T, S) averaged over heads
        peaks = weights.argmax(dim=-1).tolist()  # (B, T)
        for b, text in enumerate(chunk):
            n = len(tokenizer.check_text(text))
            for i in range(n):
                total += 1
                hits += peaks[b][i] == expected_source_position(i, n, task)
    return hits, total


def load_heldout(path: Path = CORPUS_PATH, limit: int | None = None) -> list[str]:
    """The fixed held-out list recorded by training (sentences training never saw)."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; it is written by python -m model.train")
    texts = heldout_set(Corpus.from_dict(json.loads(path.read_text(encoding="utf-8"))))
    if limit is not None:
        texts = texts[:: max(1, len(texts) // limit)][:limit]
    return texts


LONG_BANDS: tuple[tuple[int, int], ...] = ((49, 56), (57, 64))  # beyond the 5–48 of the held-out sentences


def long_texts(heldout: Sequence[str], band: tuple[int, int], n: int = 60, seed: int = 0) -> list[str]:
    """`n` texts with lengths in `band`, made by joining held-out sentences and cropping (never trained on)."""
    rng = random.Random(seed)
    pool = sorted(heldout)
    texts = []
    while len(texts) < n:
        text = rng.choice(pool)
        while len(text) < band[0]:
            text += rng.choice(pool)
        texts.append(text[: rng.randint(*band)])
    return texts


def evaluate_long(loaded: LoadedModel, heldout: Sequence[str], n: int = 60) -> dict:
    """Exact match per task on the longer bands the app accepts (up to MAX_LEN characters)."""
    report: dict = {}
    for band in LONG_BANDS:
        texts = long_texts(heldout, band, n)
        report[f"{band[0]}-{band[1]}"] = {
            task: sum(exact_matches(loaded.model, loaded.tokenizer, texts, task)) / len(texts) for task in TASKS
        }
    return report


def evaluate(loaded: LoadedModel, texts: Sequence[str]) -> dict:
    """Both figures per task, and exact match per script (zh / en / mixed)."""
    report: dict = {"n_texts": len(texts), "lengths": [min(map(len, texts)), max(map(len, texts))], "tasks": {}}
    for task in TASKS:
        matches = exact_matches(loaded.model, loaded.tokenizer, texts, task)
        hits, total = alignment_hits(loaded.model, loaded.tokenizer, texts, task)
        by_script = {}
        for script in ("zh", "en", "mixed"):
            sel = [m for t, m in zip(texts, matches, strict=True) if script_of(t) == script]
            if sel:
                by_script[script] = {"n": len(sel), "exact_match": sum(sel) / len(sel)}
        report["tasks"][task] = {
            "exact_match": sum(matches) / len(matches),
            "alignment": hits / total,
            "by_script": by_script,
            "failures": [t for t, m in zip(texts, matches, strict=True) if not m][:10],
        }
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint base path (default: shipped)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate on an evenly spaced subset")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    loaded = load_model(args.checkpoint)
    texts = load_heldout(limit=args.limit)
    report = evaluate(loaded, texts)
    report["long"] = evaluate_long(loaded, texts)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    lo, hi = report["lengths"]
    print(f"held-out sentences: {report['n_texts']} ({lo}-{hi} characters, never seen in training)")
    for task, r in report["tasks"].items():
        scripts = ", ".join(f"{s} {v['exact_match']:.1%} (n={v['n']})" for s, v in r["by_script"].items())
        em, align = r["exact_match"], r["alignment"]
        print(f"{task:8s} exact match {em:.1%}   cross-attention alignment {align:.1%}   [{scripts}]")
        for failure in r["failures"][:3]:
            print(f"    miss: {failure}", file=sys.stderr)
    for band, by_task in report["long"].items():
        figures = "   ".join(f"{task} {em:.1%}" for task, em in by_task.items())
        print(f"longer texts, {band} characters (held-out sentences joined and cropped, n=60): {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
