"""How fast the answer checker grades: a typical answer and a 20 000-character one, idle and with a busy CPU.

Targets (issue 10): ≤ 5 ms per typical answer, ≤ 50 ms for 20 000 characters. Pure function calls (no
server): `check_answer` on every calibration answer of all 30 questions, after each question was compiled
once (the first call per question, measured separately). "Busy" runs the same with one process spinning
on another core, as on a shared machine. Figures print; nothing is asserted.

    .venv/bin/python benchmarks/grading.py
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _harness import median_p95  # noqa: E402

from app.grading import check_answer  # noqa: E402
from app.grading.calibration import load_calibration  # noqa: E402
from app.question_bank import load_bank  # noqa: E402

LONG_CHARS = 20_000
ROUNDS = 5


def _spin(stop_at: float) -> None:
    x = 0
    while time.perf_counter() < stop_at:
        x = (x * 31 + 7) % 1_000_003


def _long_answer(text: str) -> str:
    return (text * (LONG_CHARS // max(1, len(text)) + 1))[:LONG_CHARS]


def measure(label: str) -> None:
    bank = load_bank()  # fresh models: the per-question compile cost is measured too
    answers = load_calibration(bank).answers
    compile_ms = [_timed(lambda q=q: check_answer("", q))[0] for q in bank.values()]
    typical = [_timed(lambda a=a: check_answer(a.text, bank[a.question_id])) for _ in range(ROUNDS) for a in answers]
    strong = [a for a in answers if a.kind in ("strong", "paraphrase", "wrong")]
    chosen = strong[:: max(1, len(strong) // 30)]
    long_texts = [(_long_answer(a.text), bank[a.question_id]) for a in chosen]
    long_runs = [_timed(lambda t=t, q=q: check_answer(t, q)) for t, q in long_texts for _ in range(2)]
    chars = statistics.mean(len(a.text) for a in answers)
    print(f"[{label}] load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    first = statistics.median(compile_ms)
    print(f"  compile one question (first call, wall): median {first:.2f} ms, max {max(compile_ms):.2f} ms")
    print(f"  typical answer ({len(answers)} calibration answers × {ROUNDS}, mean {chars:.0f} chars; target ≤ 5 ms):")
    _print_figures(typical)
    print(f"  {LONG_CHARS} characters ({len(long_runs)} runs over {len(chosen)} questions; target ≤ 50 ms):")
    _print_figures(long_runs)


def _timed(call) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall ms, CPU ms of this process) of one call: on a shared machine the CPU figure is the checker's own cost."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _print_figures(runs: list[tuple[float, float]]) -> None:
    for name, values in (("wall", [w for w, _ in runs]), ("CPU ", [c for _, c in runs])):
        med, p95 = median_p95(values)
        print(f"    {name} median {med:6.2f} ms   p95 {p95:6.2f} ms   max {max(values):6.2f} ms")


def main() -> int:
    measure("idle")
    stop_at = time.perf_counter() + 120
    spinner = multiprocessing.Process(target=_spin, args=(stop_at,), daemon=True)
    spinner.start()
    try:
        measure("busy CPU: one spinning process")
    finally:
        spinner.terminate()
        spinner.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
