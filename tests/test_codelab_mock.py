"""Mock interviews run a code answer to q21/q22 (any question a hand-coding exercise serves) against the
exercise's tests once, and the report shows the stored run next to the key-point verdicts."""

from __future__ import annotations

import random

from sqlmodel import select

from app.codelab.exercises import get_exercises
from app.models import CodeAttempt
from app.question_bank import get_bank
from app.services import mock as svc


def _one_question_session(session, clock, question_id: str):
    bank = {question_id: get_bank()[question_id]}
    mock = svc.create_session(
        session=session, user_id=1, settings=svc.MockSettings(count=1), now=clock.now(), rng=random.Random(1), bank=bank
    )
    svc.serve_current(session=session, user_id=1, mock_id=mock.id, now=clock.now())
    return mock


def test_a_code_answer_to_q21_is_run_once_and_reported(session, clock):
    exercise = get_exercises()["softmax"]
    assert "q21" in exercise.questions
    mock = _one_question_session(session, clock, "q21")
    text = f"缩放点积注意力里先要一个稳定的 softmax：\n```python\n{exercise.solution}```\n再乘以 V。"
    svc.submit_answer(session=session, user_id=1, mock_id=mock.id, question_id="q21", text=text, now=clock.now())
    rows = session.exec(select(CodeAttempt)).all()
    assert len(rows) == 1 and rows[0].source == "mock" and rows[0].slug == "softmax"
    assert rows[0].passed, rows[0].tests

    report = svc.build_report(session=session, user_id=1, mock_id=mock.id, now=clock.now())
    run = report["questions"][0]["code_run"]
    assert run["passed"] is True and run["slug"] == "softmax" and run["passed_count"] == len(run["tests"]) > 0
    svc.build_report(session=session, user_id=1, mock_id=mock.id, now=clock.now())
    assert len(session.exec(select(CodeAttempt)).all()) == 1  # the report reads the stored run, never re-runs
    # Mock runs stay out of the lab's own status.
    from app.services import codelab

    assert codelab.progress(session=session, user_id=1)["softmax"].attempts == 0


def test_a_prose_answer_runs_nothing(session, clock):
    mock = _one_question_session(session, clock, "q22")
    text = "因果掩码：上三角设为 -inf，softmax 之后未来位置的权重为 0。"
    svc.submit_answer(session=session, user_id=1, mock_id=mock.id, question_id="q22", text=text, now=clock.now())
    report = svc.build_report(session=session, user_id=1, mock_id=mock.id, now=clock.now())
    assert report["questions"][0]["code_run"] is None
    assert session.exec(select(CodeAttempt)).all() == []


def test_the_report_page_shows_a_failing_code_run(client, session, clock):
    mock = _one_question_session(session, clock, "q21")
    wrong = "def softmax(x, dim=-1):\n    return x.exp() / x.exp().sum(dim=0, keepdim=True)\n"
    svc.submit_answer(session=session, user_id=1, mock_id=mock.id, question_id="q21", text=wrong, now=clock.now())
    svc.finish(session=session, user_id=1, mock_id=mock.id, now=clock.now())
    page = client.get(f"/mock/{mock.id}/report")
    assert page.status_code == 200
    section = page.text.split('id="report-code-runs"', 1)[1].split("</section>", 1)[0]
    assert "✗ 未通过" in section and 'href="/code/softmax"' in section
    assert "softmax 的维度不对" in section  # the failing tests' messages name the mistake (wrong axis)
    assert 'href="#code-run-q21"' in page.text
