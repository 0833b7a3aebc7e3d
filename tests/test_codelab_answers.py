"""Mock-interview code answers: the code is found in free text and run against the right exercise."""

from __future__ import annotations

import pytest

from app.codelab.answers import code_answer_run, extract_code
from app.codelab.exercises import get_exercises, hidden_case_names
from app.codelab.harness import run_checks
from app.question_bank import load_bank


@pytest.mark.parametrize(("question_id", "slug"), [("q21", "sdpa"), ("q22", "attention-masks")])
def test_the_banks_own_code_answers_run_and_pass(question_id, slug):
    found = code_answer_run(question_id, load_bank()[question_id].answer)
    assert found is not None and found[0] == slug
    exercise = get_exercises()[slug]
    result = run_checks(exercise.check_source, found[1], exercise.entry)
    assert result["passed"], [t["message"] for t in result["tests"] if not t["passed"]][:2]


def test_a_wrong_code_answer_fails_naming_the_mistake():
    answer = (
        "先打分再 softmax：\n```python\nimport torch\n\ndef scaled_dot_product_attention(q, k, v, mask=None):\n"
        "    w = torch.softmax(q @ k.transpose(-2, -1), dim=-1)\n    return w @ v, w\n```\n"
    )
    slug, code = code_answer_run("q21", answer)
    exercise = get_exercises()[slug]
    result = run_checks(exercise.check_source, code, exercise.entry)
    assert not result["passed"]
    assert any("缺少 1/√d_k 缩放" in t["message"] for t in result["tests"])


def test_helpers_defined_first_do_not_pick_the_exercise():
    code = (
        "import math\nimport torch\n\ndef softmax(x, dim=-1):\n    return torch.softmax(x, dim)\n\n"
        "def attention(q, k, v, mask=None):\n    return softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))) @ v\n"
    )
    assert code_answer_run("q21", code)[0] == "sdpa"


def test_answers_without_usable_code_give_none():
    assert code_answer_run("q21", "缩放点积注意力：QK^T 除以 √d_k，softmax 后乘 V。") is None
    assert code_answer_run("q21", "```python\ndef unrelated(x):\n    return x\n```") is None
    assert code_answer_run("q01", "```python\ndef attention(q, k, v):\n    return q\n```") is None
    assert extract_code("def broken(:\n  pass") is None
    assert extract_code("说明文字\nimport torch\nx = torch.ones(2)\n") == "import torch\nx = torch.ones(2)\n"


def test_hidden_case_names_are_listed_for_the_page():
    names = hidden_case_names("sdpa")
    assert len(names) >= 8 and any("屏蔽" in n for n in names)
