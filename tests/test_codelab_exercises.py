"""Every exercise's hidden tests, run in-process: the reference solution passes every case, the starter code
does not, and every curated wrong solution fails with a message that names its mistake."""

from __future__ import annotations

import pytest
import torch

from app.codelab.exercises import CODE_DIR, exercise_for_card, exercises_for_question, get_exercises, wrong_solutions
from app.codelab.harness import load_check, run_checks
from app.question_bank import BANK_DIR

EXERCISES = get_exercises()
WRONG = [(slug, name, src, needle) for slug in EXERCISES for name, src, needle in wrong_solutions(slug)]


def failure_messages(result: dict) -> list[str]:
    return [t["message"] for t in result["tests"] if not t["passed"]] + ([result["error"]] if result["error"] else [])


def test_at_least_sixteen_exercises_with_unique_cards_in_order():
    assert len(EXERCISES) >= 16
    cards = [e.card_id for e in EXERCISES.values()]
    assert cards == sorted(cards) and len(set(cards)) == len(cards)
    assert exercise_for_card(cards[0]) is next(iter(EXERCISES.values()))
    assert exercise_for_card("c99") is None
    assert {e.slug for e in exercises_for_question("q21")} >= {"sdpa", "mha-forward"}
    assert exercises_for_question("q21")[0].slug == "sdpa"  # the most central first (mock answers to q21)
    assert exercises_for_question("q22")[0].slug == "attention-masks"


@pytest.mark.parametrize("slug", list(EXERCISES))
def test_exercise_metadata_is_complete(slug):
    ex = EXERCISES[slug]
    assert ex.entry in ex.signature and ex.entry in ex.starter_code and ex.entry in ex.solution
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ex.title + ex.statement), "Chinese first"
    for q in ex.questions:
        assert (BANK_DIR / f"{q}.yaml").is_file(), q
    cases = load_check(ex.check_source)["CASES"]
    assert len(cases) >= 6 and len({c.name for c in cases}) == len(cases)
    assert len(wrong_solutions(slug)) >= 3, "each exercise has curated wrong solutions"
    assert sorted(p.name for p in (CODE_DIR / slug / "wrong").glob("*.py")) == sorted(
        name for name, _, _ in wrong_solutions(slug)
    )


@pytest.mark.parametrize("slug", list(EXERCISES))
def test_reference_solution_passes_every_case(slug):
    ex = EXERCISES[slug]
    result = run_checks(ex.check_source, ex.solution, ex.entry)
    assert result["passed"], failure_messages(result)


@pytest.mark.parametrize("slug", list(EXERCISES))
def test_starter_code_does_not_pass(slug):
    ex = EXERCISES[slug]
    result = run_checks(ex.check_source, ex.starter_code, ex.entry)
    assert not result["passed"]
    assert any("NotImplementedError" in m for m in failure_messages(result))


@pytest.mark.parametrize(("slug", "name", "source", "needle"), WRONG, ids=[f"{w[0]}/{w[1]}" for w in WRONG])
def test_wrong_solution_fails_naming_its_mistake(slug, name, source, needle):
    ex = EXERCISES[slug]
    result = run_checks(ex.check_source, source, ex.entry)
    assert not result["passed"]
    messages = failure_messages(result)
    assert any(needle in m for m in messages), messages[:3]


def test_learner_exception_is_trimmed_to_the_learners_lines():
    ex = EXERCISES["softmax"]
    code = (
        "import torch\n\ndef helper(x):\n    return x.no_such_method()\n\n"
        "def softmax(x, dim=-1):\n    return helper(x)\n"
    )
    message = next(m for m in failure_messages(run_checks(ex.check_source, code, ex.entry)))
    assert "AttributeError" in message and "你的代码第 4 行" in message and "你的代码第 7 行" in message
    assert "torch/" not in message and "check.py" not in message


def test_shape_dtype_and_nan_messages_say_what_and_where():
    ex = EXERCISES["softmax"]
    shape = failure_messages(run_checks(ex.check_source, "def softmax(x, dim=-1):\n    return x.sum(-1)\n", ex.entry))
    assert any("形状不对：期望 (2, 5)，得到 (2,)" in m for m in shape)
    dtype = failure_messages(
        run_checks(
            ex.check_source,
            "import torch\ndef softmax(x, dim=-1):\n    return torch.softmax(x.float(), dim)\n",
            ex.entry,
        )
    )
    assert any("dtype 不对：期望 float64，得到 float32" in m for m in dtype)
    none = failure_messages(run_checks(ex.check_source, "def softmax(x, dim=-1):\n    y = x * 2\n", ex.entry))
    assert any("忘了 return" in m for m in none)
    nan = failure_messages(
        run_checks(ex.check_source, "def softmax(x, dim=-1):\n    return x * float('nan')\n", ex.entry)
    )
    assert any("含 NaN（第一个在 [0, 0]" in m for m in nan)


def test_sinusoidal_reference_matches_the_projects_model():
    from model.transformer import positional_encoding

    check = load_check(EXERCISES["sinusoidal-pe"].check_source)
    for length, d_model in [(1, 2), (7, 16), (50, 64)]:
        torch.testing.assert_close(check["reference"](length, d_model), positional_encoding(length, d_model))


def test_decoder_mask_reference_matches_the_projects_model():
    from model.transformer import decoder_mask

    check = load_check(EXERCISES["attention-masks"].check_source)
    ids = torch.tensor([[5, 6, 7, 0, 0], [4, 4, 4, 4, 4]])
    assert torch.equal(check["reference"](ids, 0), decoder_mask(ids, 0))
