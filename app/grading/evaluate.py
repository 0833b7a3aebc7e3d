"""Measure the checker on the calibration set: `python -m app.grading.evaluate [--question q03] [--strict]`.

Prints the mean checker score per answer kind (next to the interviewer's), exact verdict accuracy per
key point, the 3×3 confusion matrix (expected × got), the Spearman rank correlation between the checker's
score and the expected score (weighted coverage of the expected verdicts), how often misconceptions fire,
and the worst disagreements. `--strict` exits 1 when a "done when" threshold fails.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.grading.calibration import KINDS, LabelledAnswer, load_calibration
from app.grading.check import check_answer
from app.grading.scores import VERDICTS, coverage_score
from app.question_bank import Question, Track, get_bank, track_for_number

# "Done when" (issue 10): rank correlation, and mean checker score per kind.
MIN_RANK_CORRELATION = 0.7
MAX_WRONG_MEAN = 25.0
MIN_PARAPHRASE_MEAN = 75.0
MAX_MINIMAL_MEAN = 20.0


@dataclass(frozen=True)
class Graded:
    answer: LabelledAnswer
    expected_score: float
    score: float
    verdicts: list[str]
    misconceptions: list[str]
    suggested_rating: int


@dataclass
class Evaluation:
    graded: list[Graded]
    problems: list[str]

    def by_kind(self) -> dict[str, list[Graded]]:
        groups: dict[str, list[Graded]] = defaultdict(list)
        for g in self.graded:
            groups[g.answer.kind].append(g)
        return groups

    def mean_score(self, kind: str) -> float | None:
        scores = [g.score for g in self.by_kind().get(kind, [])]
        return round(sum(scores) / len(scores), 1) if scores else None

    def mean_expected(self, kind: str) -> float | None:
        scores = [g.expected_score for g in self.by_kind().get(kind, [])]
        return round(sum(scores) / len(scores), 1) if scores else None

    def confusion(self) -> dict[str, dict[str, int]]:
        table = {e: dict.fromkeys(VERDICTS, 0) for e in VERDICTS}
        for g in self.graded:
            for expected, got in zip(g.answer.expected, g.verdicts, strict=True):
                table[expected][got] += 1
        return table

    def verdict_accuracy(self) -> float:
        pairs = [(e, v) for g in self.graded for e, v in zip(g.answer.expected, g.verdicts, strict=True)]
        return round(sum(e == v for e, v in pairs) / len(pairs), 3) if pairs else 0.0

    def rank_correlation(self) -> float:
        return spearman([g.score for g in self.graded], [g.expected_score for g in self.graded])

    def failures(self) -> list[str]:
        """The "done when" thresholds this evaluation misses (empty: all met)."""
        out = []
        rho = self.rank_correlation()
        if rho < MIN_RANK_CORRELATION:
            out.append(f"rank correlation {rho:.3f} < {MIN_RANK_CORRELATION}")
        checks = (
            ("wrong", MAX_WRONG_MEAN, False),
            ("paraphrase", MIN_PARAPHRASE_MEAN, True),
            ("minimal", MAX_MINIMAL_MEAN, False),
        )
        for kind, bound, at_least in checks:
            mean = self.mean_score(kind)
            if mean is None:
                continue
            if (at_least and mean < bound) or (not at_least and mean > bound):
                out.append(f"{kind} mean {mean} {'<' if at_least else '>'} {bound}")
        return out


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties get their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on average ranks); 0.0 when either side is constant."""
    if len(xs) != len(ys):
        raise ValueError(f"got {len(xs)} and {len(ys)} values")
    if len(xs) < 2:
        return 0.0
    rx, ry = _ranks(xs), _ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return 0.0
    return round(cov / (vx * vy) ** 0.5, 3)


def evaluate(bank: Mapping[str, Question] | None = None, *, question_id: str | None = None) -> Evaluation:
    """Grade every labelled answer (deterministic: no clock, no randomness)."""
    bank = bank if bank is not None else get_bank()
    calibration = load_calibration(bank, question_id=question_id)
    graded = []
    for answer in calibration.answers:
        question = bank[answer.question_id]
        check = check_answer(answer.text, question)
        graded.append(
            Graded(
                answer=answer,
                expected_score=coverage_score(answer.expected, [kp.weight for kp in question.key_points]),
                score=check.score,
                verdicts=list(check.verdicts),
                misconceptions=[m.label for m in check.misconceptions],
                suggested_rating=check.suggested_rating,
            )
        )
    return Evaluation(graded=graded, problems=calibration.problems)


def _by_track(evaluation: Evaluation) -> dict[str, Evaluation]:
    """The evaluation split by the questions' track (guide q01–q30, modern q31–q60)."""
    tracks = [t.value for t in Track]
    parts = {t: [g for g in evaluation.graded if track_for_number(int(g.answer.question_id[1:])) == t] for t in tracks}
    return {t: Evaluation(graded=graded, problems=[]) for t, graded in parts.items() if graded}


def _shown_mean(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def report(evaluation: Evaluation, *, worst: int = 10) -> str:
    lines: list[str] = []
    graded = evaluation.graded
    lines.append(f"Calibration answers: {len(graded)} ({len({g.answer.question_id for g in graded})} questions)")
    lines.append("")
    lines.append(f"{'kind':<11}{'n':>4}{'expected':>10}{'checker':>9}{'misconc.':>10}{'≥Good':>7}")
    by_kind = evaluation.by_kind()
    for kind in KINDS:
        items = by_kind.get(kind, [])
        if not items:
            continue
        fired = sum(bool(g.misconceptions) for g in items)
        good = sum(g.suggested_rating >= 3 for g in items)
        lines.append(
            f"{kind:<11}{len(items):>4}{evaluation.mean_expected(kind):>10}{evaluation.mean_score(kind):>9}"
            f"{fired:>10}{good:>7}"
        )
    lines.append("")
    lines.append(f"Exact verdict accuracy (per key point): {evaluation.verdict_accuracy():.1%}")
    lines.append(f"Spearman rank correlation (checker vs expected score): {evaluation.rank_correlation():.3f}")
    by_track = _by_track(evaluation)
    if len(by_track) > 1:  # the modern track's figures on their own, so the guide's cannot hide them
        lines.append("")
        lines.append(f"{'track':<8}{'n':>5}{'ρ':>7}{'accuracy':>10}" + "".join(f"{k:>11}" for k in KINDS))
        for track, part in by_track.items():
            means = "".join(f"{_shown_mean(part.mean_score(k)):>11}" for k in KINDS)
            lines.append(
                f"{track:<8}{len(part.graded):>5}{part.rank_correlation():>7.3f}{part.verdict_accuracy():>10.1%}{means}"
            )
    lines.append("")
    lines.append("Confusion (rows expected, columns checker):")
    lines.append(f"{'':<10}" + "".join(f"{v:>9}" for v in VERDICTS))
    for expected, row in evaluation.confusion().items():
        lines.append(f"{expected:<10}" + "".join(f"{row[v]:>9}" for v in VERDICTS))
    if worst:
        lines.append("")
        lines.append(f"Worst {worst} disagreements (checker − expected):")
        ranked = sorted(graded, key=lambda g: -abs(g.score - g.expected_score))[:worst]
        for g in ranked:
            a = g.answer
            snippet = " ".join(a.text.split())[:70]
            extra = f" misconceptions: {'; '.join(g.misconceptions)}" if g.misconceptions else ""
            lines.append(
                f"  {g.score - g.expected_score:+6.1f}  {a.source} [{a.kind}] "
                f"checker {g.score:g} vs {g.expected_score:g}{extra}\n          {snippet}"
            )
    if evaluation.problems:
        lines.append("")
        lines.append("Not used:")
        lines.extend(f"  {p}" for p in evaluation.problems)
    failures = evaluation.failures()
    lines.append("")
    lines.append("Thresholds: " + ("all met" if not failures else "FAILED: " + "; ".join(failures)))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.grading.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--question", help="only this question, e.g. q03")
    parser.add_argument("--worst", type=int, default=10, help="how many disagreements to list (default 10)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a threshold fails")
    args = parser.parse_args(argv)
    bank = get_bank()
    if args.question is not None and args.question not in bank:
        parser.error(f"unknown question {args.question!r}; expected q01–q60")
    evaluation = evaluate(bank, question_id=args.question)
    print(report(evaluation, worst=args.worst))
    return 1 if args.strict and evaluation.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
