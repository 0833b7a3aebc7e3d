"""Every question page and study note typesets its formulas in Chromium: no KaTeX error, no raw LaTeX left."""

from __future__ import annotations

import pytest

from app.question_bank import NOTES_SECTIONS, get_bank
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

CONTENT_PAGES = [f"/questions/{qid}" for qid in get_bank()] + [f"/notes/{slug}" for slug in NOTES_SECTIONS]

# What a learner would see as broken math: KaTeX's red error spans, a formula KaTeX refused, or a `$`
# left in the prose (an unbalanced or unrecognised delimiter). Code blocks may hold a literal `$`.
MATH_PROBLEMS_JS = """() => {
  const errors = [...document.querySelectorAll('.katex-error')].map(e => e.textContent.slice(0, 80));
  const refused = [...document.querySelectorAll('.math[data-typeset=error]')].map(e => e.textContent.slice(0, 80));
  const prose = document.querySelector('main').cloneNode(true);
  prose.querySelectorAll('.katex, .math, pre, code, textarea, input').forEach(e => e.remove());
  const dollars = prose.textContent.split('\\n').filter(line => line.includes('$')).map(l => l.trim().slice(0, 80));
  return {typeset: document.querySelectorAll('.katex').length, errors, refused, dollars};
}"""


def test_every_formula_on_question_and_notes_pages_is_typeset(live_server, page):
    problems: dict[str, dict] = {}
    typeset_total = 0
    for path in CONTENT_PAGES:
        page.goto(live_server.url + path)
        page.wait_for_function("document.querySelectorAll('.math:not([data-typeset])').length === 0")
        found = page.evaluate(MATH_PROBLEMS_JS)
        typeset_total += found["typeset"]
        if found["errors"] or found["refused"] or found["dollars"]:
            problems[path] = found
    assert problems == {}
    # The check looked at real formulas: the bank and notes hold hundreds of them.
    assert typeset_total > 300


@pytest.mark.parametrize(
    ("path", "name"), [("/questions/q11", "q11-math"), ("/notes/residual-layernorm", "notes-deepnorm")]
)
def test_corrected_pages_show_their_formulas(live_server, page, path, name):
    page.goto(live_server.url + path)
    if path.startswith("/questions/"):
        page.click("details#answer summary")
        page.wait_for_selector("details#answer[open] .answer .katex")
        # Open the follow-ups too, so the screenshot shows every corrected paragraph.
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_selector(".katex")
    assert page.locator(".katex-error").count() == 0
    screenshot(page, name)


def test_the_check_sees_a_broken_formula_and_a_stray_dollar(live_server, page):
    """The detector above is not blind: a bad formula and an unbalanced `$` on a real page are both reported."""
    page.goto(live_server.url + "/notes/self-attention")
    page.wait_for_function("document.querySelectorAll('.math:not([data-typeset])').length === 0")
    page.evaluate(
        """() => {
          const p = document.createElement('p');
          p.innerHTML = '<span class="math inline">\\\\frac{a</span> 显存 $O(n) 未闭合';
          document.querySelector('main').appendChild(p);
          window.renderMath(p);
        }"""
    )
    found = page.evaluate(MATH_PROBLEMS_JS)
    assert len(found["errors"]) == 1
    assert found["dollars"] == ["显存 $O(n) 未闭合"]
