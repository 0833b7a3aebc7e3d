"""Code answers in mock interviews (q21, q22, …): find the code in a free-text answer and the exercise to run it on.

`code_answer_run(question_id, answer)` returns (slug, code) ready for `runner.run_code`, or None when the answer
holds no code that defines what one of the question's exercises needs. The answer's own names are honoured
through each exercise's `answer_adapters` (e.g. q21's `scaled_dot_product_attention` returning (out, weights)).
"""

from __future__ import annotations

import ast
import re

from app.codelab.exercises import Exercise, exercises_for_question

FENCE_RE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
CODE_START_RE = re.compile(r"^(?:import |from \S+ import |def |class |@)")
# A line that can belong to Python code: indented, a statement keyword, a comment, an assignment or a call.
CODE_LINE_RE = re.compile(
    r"^(\s|def\s|class\s|import\s|from\s|return\b|@|#|[A-Za-z_][A-Za-z0-9_.\[\], ]*\s*(=|\(|\+=|-=|\*=|/=))"
)


def extract_code(answer: str) -> str | None:
    """The Python code in an answer: its fenced blocks joined, else the text from the first `def`/`import` line
    onward (kept only if it parses). None when there is none."""
    blocks = [b.strip("\n") for b in FENCE_RE.findall(answer or "")]
    if blocks:
        return "\n\n".join(blocks).strip() + "\n"
    lines = (answer or "").splitlines()
    for i, line in enumerate(lines):
        if CODE_START_RE.match(line):
            kept: list[str] = []
            for tail in lines[i:]:  # up to the prose that follows the code ("这样就行。")
                if tail.strip() and not CODE_LINE_RE.match(tail):
                    break
                kept.append(tail)
            code = "\n".join(kept).strip() + "\n"
            try:
                ast.parse(code)
            except SyntaxError:
                return None
            return code
    return None


def defined_names(code: str) -> dict[str, int]:
    """Top-level function, class and variable names the code defines, with the line of their (last) definition."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    names: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node.lineno
        elif isinstance(node, ast.Assign):
            names.update({t.id: node.lineno for t in node.targets if isinstance(t, ast.Name)})
    return names


def _match(exercise: Exercise, code: str, names: dict[str, int]) -> tuple[int, str] | None:
    """(line of the matched definition, runnable code) for `exercise`, or None."""
    if exercise.entry in names:
        return names[exercise.entry], code
    for needs, adapter in exercise.answer_adapters:
        if all(n in names for n in needs):
            runnable = f"{code.rstrip()}\n\n\n# 适配：把你的函数接到本题的入口 `{exercise.entry}`\n{adapter}"
            return max(names[n] for n in needs), runnable
    return None


def runnable_code(exercise: Exercise, code: str) -> str | None:
    """`code` as it can run against `exercise`: as is when it defines the entry, else with the first adapter
    whose names it defines appended; None when neither fits."""
    found = _match(exercise, code, defined_names(code))
    return found[1] if found else None


def code_answer_run(question_id: str, answer: str) -> tuple[str, str] | None:
    """(exercise slug, code to run) for a mock-interview answer to `question_id`, or None (no usable code).

    When several of the question's exercises match (a q21 answer defines `softmax` as a helper and then
    `scaled_dot_product_attention`), the one matched by the definition furthest down wins: helpers come first.
    """
    code = extract_code(answer)
    if code is None:
        return None
    names = defined_names(code)
    best: tuple[int, str, str] | None = None
    for exercise in exercises_for_question(question_id):
        found = _match(exercise, code, names)
        if found and (best is None or found[0] > best[0]):
            best = (found[0], exercise.slug, found[1])
    return (best[1], best[2]) if best else None
