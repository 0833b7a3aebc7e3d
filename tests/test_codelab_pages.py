"""The hand-coding lab's pages (/code, /code/{slug}): the list, the exercise page, runs by plain form and by htmx,
the solution on request, the suggested FSRS rating and its recording, the runner switched off, question links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.codelab import runner
from app.codelab.answers import code_answer_run, extract_code
from app.codelab.exercises import exercises_for_question, get_exercises
from app.models import CodeAttempt, CodeSolutionView, DrillCard, DrillReview
from app.question_bank import get_bank
from app.services import codelab as svc
from tests.utils.csrf import with_csrf

SLUG = "softmax"
HX = {"HX-Request": "true"}


@pytest.fixture
def fake_runner(monkeypatch):
    calls: list[str] = []

    def run_code(slug: str, code: str, owner: str | None = None) -> runner.RunResult:
        calls.append(code)
        ok = "wrong" not in code
        tests = [
            runner.TestOutcome("全为 -inf 的一行 (fully masked row)", ok, "" if ok else "发现 NaN <b>at</b> [0, 1]"),
            runner.TestOutcome("seed 0, shape (2, 5)", True, ""),
        ]
        return runner.RunResult(passed=ok, tests=tests, duration_ms=7, error=None)

    monkeypatch.setattr(runner, "run_code", run_code)
    monkeypatch.setattr(runner, "runner_status", lambda: (True, ""))
    return calls


def _token(html: str, name: str = "review_token") -> str:
    found = re.search(rf'name="{name}" (?:id="[^"]*" )?value="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


def test_the_list_shows_every_exercise_with_status_and_questions(client, fake_runner):
    client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "wrong"}))
    page = client.get("/code")
    assert page.status_code == 200
    for exercise in get_exercises().values():
        assert f'href="/code/{exercise.slug}"' in page.text
    item = page.text.split(f'id="code-{SLUG}"', 1)[1].split("</li>", 1)[0]
    assert 'data-status="failed"' in item and "未通过" in item and "运行 1 次" in item
    for q in get_exercises()[SLUG].questions:
        assert f'href="/questions/{q}"' in item
    assert "闪卡：新卡" in item


def test_the_exercise_page_has_statement_editor_examples_hints_and_links(client, fake_runner):
    exercise = get_exercises()[SLUG]
    page = client.get(f"/code/{SLUG}")
    assert page.status_code == 200
    html = page.text
    assert 'id="code-editor"' in html and 'maxlength="20000"' in html
    assert 'src="/static/vendor/codemirror/codemirror.js?v=' in html  # versioned: served immutable
    assert html.count('class="hint"') == len(exercise.hints)
    assert 'id="show-solution"' in html and exercise.solution.splitlines()[-1].strip() not in html.split("</form>")[-1]
    for q in exercise.questions:
        assert f'href="/questions/{q}"' in html
    assert 'hx-post="/code/softmax/runs"' in html and 'name="request_id"' in html


def test_unknown_exercise_page_is_404(client):
    response = client.get("/code/no-such-exercise")
    assert response.status_code == 404
    assert "Exercise not found" in response.text


def test_a_plain_form_run_renders_the_whole_page_with_results_and_the_code(client, fake_runner):
    page = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "wrong = 1  # <script>x</script>"}))
    assert page.status_code == 200
    assert "<html" in page.text
    assert "✗ 未通过" in page.text
    assert "发现 NaN &lt;b&gt;at&lt;/b&gt; [0, 1]" in page.text  # the runner's message is escaped
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text and "<script>x</script>" not in page.text
    assert 'data-submitted="1"' in page.text


def test_an_htmx_run_answers_the_results_fragment_with_a_fresh_request_key(client, fake_runner):
    page = client.get(f"/code/{SLUG}")
    key = _token(page.text, "request_id")
    fragment = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "ok", "request_id": key}), headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section class="run-results" id="run-results"')
    assert "✓ 全部通过" in fragment.text and "2/2 项" in fragment.text
    new_key = _token(fragment.text, "request_id")
    assert new_key != key and 'hx-swap-oob="true"' in fragment.text
    assert "第一次运行就全部通过" in fragment.text  # the rating panel, swapped out of band


def test_a_double_submitted_form_runs_once(client, fake_runner, engine):
    data = with_csrf({"code": "ok", "request_id": "run-double-submit-1"})
    first = client.post(f"/code/{SLUG}/runs", data=data, headers=HX)
    second = client.post(f"/code/{SLUG}/runs", data=data, headers=HX)
    assert first.status_code == second.status_code == 200
    assert "重复提交，未重新运行" in second.text
    assert len(fake_runner) == 1
    with Session(engine) as s:
        assert len(s.exec(select(CodeAttempt)).all()) == 1


def test_a_form_run_without_the_csrf_token_is_refused(client, fake_runner):
    response = client.post(f"/code/{SLUG}/runs", data={"code": "ok"})
    assert response.status_code == 403
    assert fake_runner == []


def test_code_over_the_limit_is_422_in_the_results_box(client, fake_runner):
    response = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "#" * 20_001}))
    assert response.status_code == 422
    assert "代码太长：最多 20000 个字符" in response.text and "<html" in response.text
    fragment = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "#" * 20_001}), headers=HX)
    assert fragment.status_code == 422  # htmx swaps 422: the sentence lands in the results box, not an error page
    assert fragment.text.lstrip().startswith('<section class="run-results" id="run-results"')
    assert "代码太长" in fragment.text
    bad_key = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "x", "request_id": "<b>"}), headers=HX)
    assert bad_key.status_code == 422 and "request_id must be" in bad_key.text
    assert fake_runner == []


def test_the_solution_is_shown_on_request_and_recorded(client, fake_runner, engine):
    exercise = get_exercises()[SLUG]
    fragment = client.post(f"/code/{SLUG}/solution", data=with_csrf({}), headers=HX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="code-solution"')
    first_line = exercise.solution.strip().splitlines()[0]
    assert (
        first_line.replace('"', "&#34;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")
        in fragment.text
    )
    assert "通过前查看了参考答案" in fragment.text  # the rating panel now suggests Again
    with Session(engine) as s:
        assert len(s.exec(select(CodeSolutionView)).all()) == 1
    plain = client.post(f"/code/{SLUG}/solution", data=with_csrf({}))
    assert "<html" in plain.text and 'class="solution"' in plain.text


@pytest.mark.parametrize(
    "codes,view_solution,expected",
    [
        (["ok"], False, 3),
        (["wrong", "wrong", "ok"], False, 2),
        (["wrong"], True, 1),
        (["ok"], "after", 3),
        (["wrong"], False, None),
        ([], False, None),
    ],
)
def test_the_suggested_rating_follows_the_runs(session, clock, fake_runner, codes, view_solution, expected):
    if view_solution is True:
        svc.record_solution_view(session=session, user_id=1, slug=SLUG, now=clock.now())
    for i, code in enumerate(codes):
        svc.run_attempt(session=session, user_id=1, slug=SLUG, code=code, now=clock.now() + timedelta(seconds=i + 1))
    if view_solution == "after":
        svc.record_solution_view(session=session, user_id=1, slug=SLUG, now=clock.now() + timedelta(minutes=5))
    assert svc.suggest_rating(session=session, user_id=1, slug=SLUG).rating == expected


def test_rating_the_exercise_schedules_its_card_once_and_starts_a_new_round(client, fake_runner, engine, clock):
    client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "ok"}))
    page = client.get(f"/code/{SLUG}").text
    assert 'class="grade suggested"' in page and "良好 Good · 建议" in page
    token = _token(page)
    data = with_csrf({"rating": "3", "review_token": token})
    recorded = client.post(f"/code/{SLUG}/rating", data=data, headers=HX)
    assert recorded.status_code == 200
    assert "已记录：良好 Good" in recorded.text
    again = client.post(f"/code/{SLUG}/rating", data=data, headers=HX)  # a double click
    assert again.status_code == 200
    card_id = get_exercises()[SLUG].card_id
    with Session(engine) as s:
        assert len(s.exec(select(DrillReview).where(DrillReview.question_id == card_id)).all()) == 1
        card = s.exec(select(DrillCard).where(DrillCard.question_id == card_id)).one()
        assert card.due > clock.now()
    listed = next(e for e in client.get("/api/code/exercises").json() if e["slug"] == SLUG)
    assert listed["due"] is not None
    # The next round starts after the review: no runs in it yet, so no suggestion.
    with Session(engine) as s:
        assert svc.suggest_rating(session=s, user_id=1, slug=SLUG).runs == 0


def test_a_bad_rating_is_422_and_records_nothing(client, fake_runner, engine):
    page = client.get(f"/code/{SLUG}").text
    response = client.post(f"/code/{SLUG}/rating", data=with_csrf({"rating": "9", "review_token": _token(page)}))
    assert response.status_code == 422
    with Session(engine) as s:
        assert s.exec(select(DrillReview)).all() == []


def test_a_switched_off_runner_says_why_and_lists_the_reference_tests(client, monkeypatch):
    monkeypatch.setattr(runner, "runner_status", lambda: (False, "服务器没有只监听本机 (not on loopback)"))
    page = client.get(f"/code/{SLUG}").text
    assert 'id="runner-off"' in page and "not on loopback" in page
    assert re.search(r'<button type="submit" id="run-button"\s+disabled', page)
    names = [r["name"] for r in svc.reference_tests(SLUG)]
    assert names and all(name.replace("'", "&#39;").replace('"', "&#34;") in page for name in names[:3])
    refused = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "ok"}), headers=HX)
    assert refused.status_code == 503 and "not on loopback" in refused.text
    assert "运行器已关闭" in client.get("/code").text


def test_the_question_page_links_to_its_exercises(client):
    exercise = get_exercises()[SLUG]
    page = client.get(f"/questions/{exercise.questions[0]}").text
    assert f'href="/code/{SLUG}"' in page


def test_the_nav_links_to_the_lab(client):
    assert 'href="/code"' in client.get("/").text


def test_code_in_a_typed_answer_is_found():
    fenced = "思路如下。\n```python\ndef softmax(x, dim=-1):\n    return x\n```\n然后……"
    assert extract_code(fenced) == "def softmax(x, dim=-1):\n    return x\n"
    bare = "缩放点积注意力：\ndef sdpa(q, k, v):\n    s = q @ k.T\n    return s\n这样就行。"
    assert extract_code(bare) == "def sdpa(q, k, v):\n    s = q @ k.T\n    return s\n"
    assert extract_code("先算 QK^T，再除以 √d_k，最后 softmax。") is None
    assert extract_code("") is None


def test_lab_pages_and_api_are_not_cached(client):
    # they carry the learner's runs and a one-time review token: the back button must not show a stale one
    for path in ("/code", f"/code/{SLUG}", "/api/code/exercises"):
        assert client.get(path).headers["cache-control"] == "no-store", path


def test_the_list_links_due_exercises_to_a_focused_drill(client, engine, clock):
    from app.models import DrillCard as Card

    ids = [e.card_id for e in get_exercises().values()][:2]
    with Session(engine) as s:
        for card_id in ids:
            past = clock.now() - timedelta(days=3)
            s.add(
                Card(user_id=1, question_id=card_id, state=2, stability=1.0, difficulty=5.0, due=past, last_review=past)
            )
        s.commit()
    page = client.get("/code").text
    assert f'href="/drill?focus={ids[0]},{ids[1]}"' in page and "2 题到期复习" in page
    drill = client.get(f"/drill?focus={ids[0]},{ids[1]}").text
    assert 'id="drill-code-open"' in drill  # the drill shows the exercise and links to its editor


def test_a_run_that_could_not_finish_shows_why(client, monkeypatch):
    reason = "运行超时（超过 10 秒）：是否有死循环？"
    monkeypatch.setattr(runner, "runner_status", lambda: (True, ""))
    monkeypatch.setattr(runner, "run_code", lambda slug, code, owner=None: runner.RunResult(False, [], 10_000, reason))
    fragment = client.post(f"/code/{SLUG}/runs", data=with_csrf({"code": "while True: pass"}), headers=HX)
    assert fragment.status_code == 200
    assert "✗ 未通过" in fragment.text and f'<pre class="run-error" id="run-error">{reason}</pre>' in fragment.text


def test_a_code_answer_is_checked_against_the_exercise_whose_function_it_defines():
    attention = "def scaled_dot_product_attention(q, k, v, mask=None):\n    return q\n"
    assert code_answer_run("q21", attention)[0] == "sdpa"
    mha = "def mha_forward(x, w_q, w_k, w_v, w_o, num_heads):\n    return x\n"
    assert code_answer_run("q21", mha)[0] == "mha-forward"
    assert code_answer_run("q21", "def helper(x):\n    return x\n") is None  # nothing an exercise asks for
    unserved = next(q for q in get_bank() if not exercises_for_question(q))
    assert code_answer_run(unserved, attention) is None
    lora = "LoRA 就是：\nclass LoRALinear(nn.Module):\n    def forward(self, x):\n        return x\n"
    code = extract_code(lora)
    assert code is not None and code.startswith("class LoRALinear")
    assert code_answer_run("q47", lora)[0] == "lora-linear"
