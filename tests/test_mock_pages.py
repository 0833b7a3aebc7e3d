"""Mock interview pages without JavaScript (plain form posts, redirect after post) and the htmx fragments."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.models import DrillReview, MockQuestion, MockSession
from app.question_bank import get_bank
from app.routes.mock import get_rng
from tests.utils.csrf import hx, with_csrf

BANK = get_bank()


@pytest.fixture(autouse=True)
def fixed_rng(client):
    """The pages draw questions from the injected rng: fix it so every run asks the same questions."""
    from app.main import app

    app.dependency_overrides[get_rng] = lambda: random.Random(2026)


def current_qid(html: str) -> str:
    match = re.search(r'name="question_id" value="(q\d\d)"', html)
    assert match, "the page carries the current question id"
    return match.group(1)


def start(client, **form) -> str:
    data = {"count": "3", "selection": "random", "seconds": "", **form}
    r = client.post("/mock", data=with_csrf(data), follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_setup_page_offers_the_settings_and_the_interview_technique(client):
    html = client.get("/mock").text
    for value in ("3", "5", "10", "30"):
        assert f'name="count" value="{value}"' in html
    for value in ("random", "weakest", "due"):
        assert f'name="selection" value="{value}"' in html
    assert 'name="hard_stop"' in html and 'name="practice"' in html
    assert 'href="/notes/technique"' in html
    assert "STAR" in html and "直觉 → 数学 → 深一步" in html and "我不知道" in html
    assert 'href="/mock/history"' in html


def test_the_form_chooses_a_track_and_refuses_a_category_outside_it(client, engine):
    html = client.get("/mock").text
    assert 'name="track" value="guide"' in html and 'name="track" value="modern"' in html
    assert 'name="count" value="60"' in html and 'name="categories" value="inference"' in html
    start(client, count="60", track="modern")
    with Session(engine) as s:
        [mock] = s.exec(select(MockSession)).all()
        assert set(mock.categories) == {"architecture", "training", "inference"} and mock.count == 30
    r = client.post(
        "/mock", data=with_csrf({"count": "3", "selection": "random", "track": "guide", "categories": "training"})
    )
    assert r.status_code == 422 and "不属于所选轨道" in r.text
    assert re.search(r'name="track" value="guide"\s+checked', r.text)  # the form keeps what was chosen


def test_bad_setup_re_renders_the_form_with_the_message(client, engine):
    r = client.post("/mock", data=with_csrf({"count": "7x", "selection": "random"}))
    assert r.status_code == 422 and "题数必须是整数" in r.text
    r = client.post("/mock", data=with_csrf({"count": "3", "selection": "random", "categories": "cooking"}))
    assert r.status_code == 422 and "unknown category" in r.text
    assert 'value="cooking"' not in r.text
    with Session(engine) as s:
        assert s.exec(select(MockSession)).all() == []


def test_a_pool_smaller_than_the_count_is_explained(client):
    implementation = [q for q in BANK.values() if q.category.value == "implementation"]
    location = start(client, count="10", categories="implementation")
    html = client.get(location).text
    assert f"你选了 10 题，但所选分类只有 {len(implementation)} 题" in html
    assert f"第 1 / {len(implementation)} 题" in html
    client.post(f"{location}/finish", data=with_csrf())
    assert f"（选了 10 题，所选分类只有 {len(implementation)} 题）" in client.get(f"{location}/report").text
    assert "你选了" not in client.get(start(client, count="3", categories="implementation")).text


def test_a_different_answer_after_the_back_button_is_refused_with_a_reason(client, engine):
    url = start(client)
    qid = current_qid(client.get(url).text)
    form = {"question_id": qid, "text": "第一次的回答"}
    for _ in range(2):  # a double click: the same answer twice is no conflict, no notice
        r = client.post(f"{url}/answer", data=with_csrf(form), follow_redirects=True)
        assert r.status_code == 200 and 'id="stale-notice"' not in r.text
    r = client.post(
        f"{url}/answer", data=with_csrf({"question_id": qid, "text": "返回后改写的回答"}), follow_redirects=True
    )
    assert r.status_code == 200 and 'id="stale-notice"' in r.text
    assert "第一次的回答" in r.text and "返回后改写的回答" not in r.text
    with Session(engine) as s:
        (row,) = [q for q in s.exec(select(MockQuestion)).all() if q.submitted_at is not None]
        assert row.text == "第一次的回答"


def test_an_overrun_question_says_overtime_not_time_left(client, clock):
    url = start(client, seconds="60")
    assert 'id="mock-timer-label">剩余时间<' in client.get(url).text
    clock.advance(timedelta(seconds=75))
    page = client.get(url).text
    assert 'id="mock-timer-label">已超时 Overtime<' in page
    assert 'id="mock-timer-value">+0:15<' in page  # as the countdown script shows it


def test_a_session_through_the_forms(client, clock, engine):
    url = start(client, categories="basics", practice="on")
    mock_id = int(url.rsplit("/", 1)[1])
    page = client.get(url).text
    qid = current_qid(page)
    assert BANK[qid].category.value == "basics"
    assert 'id="mock-timer"' in page and f'data-allowed="{[120, 180, 300][BANK[qid].difficulty - 1]}"' in page
    assert "第 1 / 3 题" in page

    # A hint without htmx: back to the page, which now shows it.
    r = client.post(f"/mock/{mock_id}/hint", data=with_csrf({"question_id": qid}), follow_redirects=True)
    assert BANK[qid].key_points[0].label in r.text

    clock.advance(timedelta(seconds=75))
    first_kw = BANK[qid].key_points[0].keywords[0][0]
    text = f"<script>alert(1)</script> {first_kw}"
    r = client.post(
        f"/mock/{mock_id}/answer",
        data=with_csrf({"question_id": qid, "text": text, "client_seconds": "74"}),
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/mock/{mock_id}#review"
    page = client.get(f"/mock/{mock_id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<mark data-kp="0' in page  # the learner's words that matched key point 1 are highlighted
    assert "用时 <strong>1:15</strong>" in page

    # Flip a verdict through htmx: the fragment comes back with the new state.
    r = client.post(
        f"/mock/{mock_id}/verdict",
        data=with_csrf({"question_id": qid, "index": "1", "verdict": "covered"}),
        headers=hx(),
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section class="mock-keypoints panel" id="mock-keypoints"')
    assert "已改判" in r.text and "<html" not in r.text
    # A bad verdict comes back as a 422 fragment with the message, nothing changed.
    r = client.post(
        f"/mock/{mock_id}/verdict",
        data=with_csrf({"question_id": qid, "index": "1", "verdict": "wow"}),
        headers=hx(),
    )
    assert r.status_code == 422 and "verdict must be one of" in r.text

    r = client.post(f"/mock/{mock_id}/follow-up", data=with_csrf({"question_id": qid}), follow_redirects=True)
    assert 'id="follow-up-form"' in r.text
    r = client.post(
        f"/mock/{mock_id}/follow-up/answer",
        data=with_csrf({"question_id": qid, "text": "我的推理是……", "action": "answer"}),
        follow_redirects=True,
    )
    assert 'id="rating-form"' in r.text and "我的推理是……" in r.text
    checked = re.search(r'name="rating" value="(\d)" checked', r.text)
    assert checked, "the self-rating is pre-selected"

    r = client.post(
        f"/mock/{mock_id}/confirm", data=with_csrf({"question_id": qid, "rating": "1"}), follow_redirects=False
    )
    assert r.headers["location"] == f"/mock/{mock_id}"
    page = client.get(f"/mock/{mock_id}").text
    second = current_qid(page)
    assert second != qid and "第 2 / 3 题" in page
    with Session(engine) as s:
        assert [(r.question_id, r.rating, r.source) for r in s.exec(select(DrillReview)).all()] == [(qid, 1, "mock")]

    # Double submit of the same form: one answer; the page shows the stored one.
    for _ in range(2):
        r = client.post(
            f"/mock/{mock_id}/answer",
            data=with_csrf({"question_id": second, "text": "", "dont_know": "1"}),
            follow_redirects=False,
        )
        assert r.status_code == 303
    page = client.get(f"/mock/{mock_id}").text
    assert "我不知道 I don't know" in page and 'id="to-follow-up"' in page

    # Finish early from the page: the report.
    r = client.post(f"/mock/{mock_id}/finish", data=with_csrf(), follow_redirects=False)
    assert r.headers["location"] == f"/mock/{mock_id}/report"
    report = client.get(f"/mock/{mock_id}/report").text
    assert 'id="report-score"' in report and 'href="/drill"' in report
    assert f"/notes/{BANK[qid].notes_section}" in report
    assert "2/3" in report  # answered
    # A finished session's page goes to its report.
    assert client.get(f"/mock/{mock_id}", follow_redirects=False).headers["location"] == f"/mock/{mock_id}/report"

    history = client.get("/mock/history").text
    assert f'href="/mock/{mock_id}/report"' in history


def test_last_confirm_goes_to_the_report(client):
    url = start(client, count="3", categories="implementation")
    mock_id = int(url.rsplit("/", 1)[1])
    for n in range(3):
        qid = current_qid(client.get(url).text)
        client.post(f"/mock/{mock_id}/answer", data=with_csrf({"question_id": qid, "text": "不会"}))
        client.post(f"/mock/{mock_id}/follow-up/answer", data=with_csrf({"question_id": qid, "action": "skip"}))
        r = client.post(
            f"/mock/{mock_id}/confirm", data=with_csrf({"question_id": qid, "rating": "2"}), follow_redirects=False
        )
        expected = f"/mock/{mock_id}/report" if n == 2 else f"/mock/{mock_id}"
        assert r.headers["location"] == expected
    page = client.get(f"/mock/{mock_id}/report").text
    assert page.count('class="verdict-tag v-missed"') >= 1


def test_code_questions_get_the_editor(client):
    url = start(client, count="30")
    mock_id = int(url.rsplit("/", 1)[1])
    seen = set()
    for _ in range(30):
        page = client.get(url).text
        qid = current_qid(page)
        seen.add(qid)
        is_code = 'class="code"' in page
        assert is_code == (qid in {"q21", "q22"}), qid
        if {"q21", "q22"} <= seen and len(seen) >= 3:
            break
        client.post(f"/mock/{mock_id}/answer", data=with_csrf({"question_id": qid, "text": "x"}))
        client.post(f"/mock/{mock_id}/confirm", data=with_csrf({"question_id": qid, "rating": "3"}))


def test_discarded_and_unknown_sessions(client):
    url = start(client)
    mock_id = int(url.rsplit("/", 1)[1])
    assert f'action="/mock/{mock_id}/discard"' in client.get("/mock").text  # offered on the setup page
    r = client.post(f"/mock/{mock_id}/discard", data=with_csrf(), follow_redirects=False)
    assert r.headers["location"] == "/mock/history"
    assert "已放弃" in client.get(f"/mock/{mock_id}").text
    assert "已放弃" in client.get("/mock/history").text
    assert client.get("/mock/abc").status_code == 404
    assert client.get("/mock/12345/report").status_code == 404


def test_form_newlines_are_stored_as_typed_and_a_stale_fragment_reloads(client):
    url = start(client)
    mock_id = int(url.rsplit("/", 1)[1])
    qid = current_qid(client.get(url).text)
    client.post(f"/mock/{mock_id}/answer", data=with_csrf({"question_id": qid, "text": "第一行\r\n第二行"}))
    answer = client.get(f"/api/mock-sessions/{mock_id}/answers/{qid}").json()
    assert answer["text"] == "第一行\n第二行"
    client.post(f"/mock/{mock_id}/confirm", data=with_csrf({"question_id": qid, "rating": "3"}))
    # A verdict flip from a tab still showing the confirmed question: the page reloads, nothing changes.
    r = client.post(
        f"/mock/{mock_id}/verdict",
        data=with_csrf({"question_id": qid, "index": "0", "verdict": "covered"}),
        headers=hx(),
    )
    assert r.status_code == 200 and r.headers["HX-Redirect"] == f"/mock/{mock_id}"
    assert client.get(f"/api/mock-sessions/{mock_id}/answers/{qid}").json()["key_points"][0]["verdict"] == "missed"


def test_a_double_submitted_start_form_creates_one_session(client, engine):
    html = client.get("/mock").text
    key = re.search(r'name="request_id" value="([^"]+)"', html).group(1)
    assert key != re.search(r'name="request_id" value="([^"]+)"', client.get("/mock").text).group(1)
    first = start(client, request_id=key)
    second = start(client, request_id=key)  # double click, or the browser re-posting the form
    assert first == second
    with Session(engine) as s:
        assert len(s.exec(select(MockSession)).all()) == 1
    assert start(client, request_id=key + "x") != first  # a new form, a new session
    r = client.post("/mock", data=with_csrf({"count": "3", "selection": "random", "request_id": "<b>bad</b>"}))
    assert r.status_code == 422 and "表单已失效" in r.text and "<b>bad</b>" not in r.text
