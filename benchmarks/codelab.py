"""How long a hand-coding lab run takes end to end through the real sandbox: cold start and warm runs, idle and busy.

Target (issue 14): a typical run ≤ 2 s end to end. "Cold" is the first run after start-up: the fork server
imports torch (a few seconds) before it can fork. "Warm" runs fork an already-warm server: a fresh child with
new namespaces, limits and an unprivileged uid per run, then the exercise's hidden tests. Each warm figure is
p50/p95 of RUNS runs of the sdpa reference solution (11 hidden cases) and of a wrong solution (the diagnosis
computes the mistake variants too). "Busy" repeats it with two processes spinning (both cores taken).
Figures print; nothing is asserted.

    .venv/bin/python benchmarks/codelab.py
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import busy_core, median_p95  # noqa: E402

from app.codelab import runner  # noqa: E402
from app.codelab.exercises import get_exercises  # noqa: E402

RUNS = 20
SLUG = "sdpa"


def _timed_run(code: str) -> float:
    started = time.perf_counter()
    result = runner.run_code(SLUG, code)
    elapsed = (time.perf_counter() - started) * 1000
    if result.error:
        raise SystemExit(f"run failed: {result.error}")
    return elapsed


def measure(label: str) -> None:
    solution = get_exercises()[SLUG].solution
    wrong = solution.replace(" / math.sqrt(q.size(-1))", "")
    runner.shutdown()
    cold = _timed_run(solution)
    print(f"[{label}] load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  cold (fork server imports torch, then the run): {cold:.0f} ms")
    for name, code in (("correct solution", solution), ("wrong solution (diagnosed)", wrong)):
        times = [_timed_run(code) for _ in range(RUNS)]
        p50, p95 = median_p95(times)
        print(
            f"  warm, {name}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms"
            f" ({RUNS} runs; target ≤ 2000 ms)"
        )


def main() -> int:
    enabled, reason = runner.runner_status()
    measure("idle")
    with contextlib.ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(busy_core())
        measure("busy: 2 spinning processes")
    runner.shutdown()
    isolation = runner.isolation_report()
    print(
        f"  sandbox: net={isolation.get('net')} mount={isolation.get('mount')} pid={isolation.get('pid')}"
        f" uid={isolation.get('uid')}"
    )
    if reason:
        print(f"  runner status: enabled={enabled}, {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
