"""Timing for the KV-cache demo and the speed budget: per-step decode time, trace time, load time.

    python -m model.bench

The functions are importable so the web app can measure live on the visitor's request.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import torch

from .checkpoint import LoadedModel, load_model, read_checkpoint
from .decoding import greedy_decode_ids, source_batch
from .instrument import trace

BENCH_TEXT = "注意力机制 Attention 让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017"


def bench_text(length: int) -> str:
    """A mixed Chinese/English text of exactly ``length`` characters."""
    return (BENCH_TEXT * (length // len(BENCH_TEXT) + 1))[:length]


@torch.no_grad()
def time_decode(
    loaded: LoadedModel, text: str, use_cache: bool, task: str = "copy", n_tokens: int | None = None, repeats: int = 5
) -> dict:
    """Greedy-decode ``text`` ``repeats`` times; per-step milliseconds (median over repeats).

    With ``n_tokens`` exactly that many tokens are generated (``<eos>`` ignored), so runs with and
    without the cache do the same work; without it decoding stops at ``<eos>``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    src = source_batch(loaded.tokenizer, [text], task)
    runs: list[list[float]] = []
    totals: list[float] = []
    for _ in range(repeats):
        steps: list[float] = []
        started = time.perf_counter()
        greedy_decode_ids(loaded.model, src, n_tokens, use_cache, stop_at_eos=n_tokens is None, step_times=steps)
        totals.append(time.perf_counter() - started)
        runs.append(steps)
    n = min(len(r) for r in runs)
    per_step = [statistics.median(r[i] for r in runs) * 1e3 for i in range(n)]
    return {
        "use_cache": use_cache,
        "n_tokens": n,
        "total_ms": round(statistics.median(totals) * 1e3, 3),
        "per_step_ms": [round(v, 4) for v in per_step],
        "median_step_ms": round(statistics.median(per_step), 4),
    }


def time_trace(loaded: LoadedModel, text: str, task: str = "copy", repeats: int = 20) -> float:
    """Median milliseconds of one full instrumented run (encode + greedy decode + capture)."""
    trace(loaded, text, task)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        trace(loaded, text, task)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def time_load(repeats: int = 5) -> float:
    """Median seconds to read the shipped checkpoint from disk and build the model (uncached)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read_checkpoint()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load_s = time_load()
    loaded = load_model()
    print(f"model load: {load_s * 1e3:.0f} ms (median of 5, uncached)")
    header = ("tokens", "cache ms/step", "no cache ms/step", "cache total", "no cache total", "speed-up")
    print("{:>6} {:>14} {:>17} {:>12} {:>15} {:>9}".format(*header))
    for n in (8, 16, 32, 64):
        text = bench_text(n)
        time_decode(loaded, text, True, n_tokens=n, repeats=1)  # warm-up
        with_cache = time_decode(loaded, text, True, n_tokens=n, repeats=args.repeats)
        without = time_decode(loaded, text, False, n_tokens=n, repeats=args.repeats)
        print(
            f"{n:>6} {with_cache['median_step_ms']:>14.2f} {without['median_step_ms']:>17.2f} "
            f"{with_cache['total_ms']:>10.1f}ms {without['total_ms']:>13.1f}ms "
            f"{without['total_ms'] / with_cache['total_ms']:>8.2f}x"
        )
    ms = time_trace(loaded, bench_text(32))
    print(f"instrumented run (32 characters, encode + greedy decode + capture): median {ms:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
