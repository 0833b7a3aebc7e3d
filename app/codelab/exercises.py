"""The hand-coding exercises (手撕代码), read from `question_bank/code/<slug>/`.

Each folder holds `exercise.yaml` (metadata), `starter.py`, `solution.py`, `check.py` (the hidden tests, run by
harness.py) and `wrong/*.py` with `wrong/expected.yaml` (curated wrong answers and the substring each failure
message must contain; the suite runs them). Exercises are ordered by card id (c01, c02, …).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

CODE_DIR = Path(__file__).resolve().parent.parent.parent / "question_bank" / "code"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CARD_RE = re.compile(r"^c\d{2}$")
QUESTION_RE = re.compile(r"^q\d{2}$")
ENTRY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Exercise:
    """One exercise as the web layer shows it; `check_source` (the hidden tests) stays on the server."""

    slug: str  # "softmax", "sdpa", "mha-forward", ... (URL-safe)
    card_id: str  # "c01" … "c99": the FSRS card id (drill_card.question_id is max 8 chars)
    title: str  # Chinese title with English term
    statement: str  # Markdown (Chinese, English terms kept; math $..$)
    signature: str  # "def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor"
    starter_code: str
    solution: str  # reference solution source (shown on request)
    examples: list[str]  # visible examples (Markdown/code)
    hints: list[str]
    questions: list[str]  # bank question ids it serves
    difficulty: int  # 1–3
    entry: str  # the function (or class) name the hidden tests call
    check_source: str  # the hidden tests (check.py); never sent to the browser
    # Mock-interview answers name things their own way: (names the answer must define, code defining `entry`).
    answer_adapters: tuple[tuple[tuple[str, ...], str], ...] = ()


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def load_exercise(folder: Path) -> Exercise:
    """Read and validate one exercise folder; a bad field raises ValueError naming the folder and field."""
    slug = folder.name
    if not SLUG_RE.match(slug):
        raise ValueError(f"exercise folder {slug!r}: slug must be lower-case words joined by '-'")
    meta = yaml.safe_load(_text(folder / "exercise.yaml"))
    if not isinstance(meta, dict):
        raise ValueError(f"{slug}/exercise.yaml must be a mapping")

    def field(name: str, kind: type):
        value = meta.get(name)
        if not isinstance(value, kind):
            raise ValueError(f"{slug}/exercise.yaml: {name} must be {kind.__name__}, got {value!r}")
        return value

    card_id, entry = field("card_id", str), field("entry", str)
    if not CARD_RE.match(card_id):
        raise ValueError(f"{slug}: card_id {card_id!r} must look like c01")
    if not ENTRY_RE.match(entry):
        raise ValueError(f"{slug}: entry {entry!r} must be a Python name")
    questions = [str(q) for q in field("questions", list)]
    if not questions or not all(QUESTION_RE.match(q) for q in questions):
        raise ValueError(f"{slug}: questions {questions!r} must be ids like q21")
    difficulty = field("difficulty", int)
    if difficulty not in (1, 2, 3):
        raise ValueError(f"{slug}: difficulty {difficulty} must be 1, 2 or 3")
    examples, hints = field("examples", list), field("hints", list)
    if not examples or not hints or not all(isinstance(x, str) and x.strip() for x in examples + hints):
        raise ValueError(f"{slug}: examples and hints must be non-empty lists of text")
    adapters = []
    for item in meta.get("answer_adapters") or []:
        needs, code = item.get("needs"), item.get("code")
        if not (
            isinstance(needs, list) and needs and all(ENTRY_RE.match(str(n)) for n in needs) and isinstance(code, str)
        ):
            raise ValueError(f"{slug}: answer_adapters entries need `needs` (Python names) and `code`")
        adapters.append((tuple(str(n) for n in needs), code))
    return Exercise(
        slug=slug,
        card_id=card_id,
        title=field("title", str).strip(),
        statement=field("statement", str).strip(),
        signature=field("signature", str).strip(),
        starter_code=_text(folder / "starter.py"),
        solution=_text(folder / "solution.py"),
        examples=[x.strip() for x in examples],
        hints=[x.strip() for x in hints],
        questions=questions,
        difficulty=difficulty,
        entry=entry,
        check_source=_text(folder / "check.py"),
        answer_adapters=tuple(adapters),
    )


@lru_cache(maxsize=1)
def get_exercises() -> dict[str, Exercise]:
    """Every exercise by slug, ordered by card id; card ids and slugs are unique."""
    loaded = [load_exercise(p) for p in sorted(CODE_DIR.iterdir()) if (p / "exercise.yaml").is_file()]
    loaded.sort(key=lambda e: e.card_id)
    cards = [e.card_id for e in loaded]
    if len(set(cards)) != len(cards):
        raise ValueError(f"duplicate exercise card ids: {sorted(c for c in cards if cards.count(c) > 1)}")
    return {e.slug: e for e in loaded}


def exercise_for_card(card_id: str) -> Exercise | None:
    return next((e for e in get_exercises().values() if e.card_id == card_id), None)


def exercises_for_question(question_id: str) -> list[Exercise]:
    """The exercises that serve a bank question, most central first: an exercise lists its questions from the
    one it answers most directly (sdpa: q21 first; attention-masks: q22 first), then card order."""
    serving = [e for e in get_exercises().values() if question_id in e.questions]
    return sorted(serving, key=lambda e: e.questions.index(question_id))  # stable: card order within a rank


@lru_cache(maxsize=64)
def hidden_case_names(slug: str) -> tuple[str, ...]:
    """The names of an exercise's hidden cases, to list on the page (e.g. when the runner is off)."""
    from app.codelab.harness import OWN_WORK_TEST, load_check

    check = load_check(get_exercises()[slug].check_source)
    own = (OWN_WORK_TEST,) if check.get("FORBIDDEN_CALLS") else ()
    return own + tuple(case.name for case in check["CASES"])


def wrong_solutions(slug: str) -> list[tuple[str, str, str]]:
    """The curated wrong answers of an exercise: (file name, source, substring its failure must contain)."""
    folder = CODE_DIR / slug / "wrong"
    expected = yaml.safe_load(_text(folder / "expected.yaml")) or {}
    return [(name, _text(folder / name), str(needle)) for name, needle in expected.items()]
