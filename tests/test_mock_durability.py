"""Against a real uvicorn: a server restart mid-session resumes at the same question with the time already used,
and concurrent double submits write once."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import httpx


def test_restart_between_two_answers_resumes_at_the_same_question_with_time_used(live_server):
    api = f"{live_server.url}/api/mock-sessions"
    created = httpx.post(api, json={"count": 3, "seconds_per_question": 600, "seed": 3}, timeout=10).json()
    sid = created["id"]
    first = created["current"]["question_id"]
    r = httpx.post(f"{api}/{sid}/answers", json={"question_id": first, "text": "softmax 缩放"}, timeout=10)
    assert r.status_code == 200
    assert httpx.post(f"{api}/{sid}/answers/{first}/confirm", json={"rating": 2}, timeout=10).status_code == 200

    before = httpx.get(f"{api}/{sid}", timeout=10).json()["current"]  # serving q2 starts its clock
    second = before["question_id"]
    assert second != first and before["seconds_used"] == 0
    time.sleep(1.2)

    live_server.restart()

    after = httpx.get(f"{api}/{sid}", timeout=10).json()
    assert after["status"] == "active"
    assert after["current"]["question_id"] == second
    assert after["current"]["started_at"] == before["started_at"]  # the same clock, not a new one
    assert after["current"]["seconds_used"] >= 1
    assert after["current"]["seconds_remaining"] == 600 - after["current"]["seconds_used"]
    assert [q["stage"] for q in after["questions"]] == ["done", "answering", "answering"]
    # the first answer survived the restart exactly
    saved = httpx.get(f"{api}/{sid}/answers/{first}", timeout=10).json()
    assert saved["text"] == "softmax 缩放" and saved["rating"] == 2

    r = httpx.post(
        f"{api}/{sid}/answers", json={"question_id": second, "text": "不知道", "dont_know": True}, timeout=10
    )
    assert r.status_code == 200 and r.json()["seconds_used"] >= 1

    # the session page resumes at the same place too
    page = httpx.get(f"{live_server.url}/mock/{sid}", timeout=10)
    assert page.status_code == 200 and 'id="your-answer"' in page.text and second in page.text


def test_concurrent_double_submits_write_once(live_server):
    api = f"{live_server.url}/api/mock-sessions"
    created = httpx.post(api, json={"count": 3, "seed": 11}, timeout=10).json()
    sid, qid = created["id"], created["current"]["question_id"]
    body = {"question_id": qid, "text": "点积、softmax、加权求和"}

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: httpx.post(f"{api}/{sid}/answers", json=body, timeout=20), range(6)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.json()["submitted_at"] for a in answers}) == 1

    def mock_reviews() -> int:
        with sqlite3.connect(live_server.db_path) as db:
            sql = "SELECT count(*) FROM drill_review WHERE question_id = ? AND source = 'mock'"
            return db.execute(sql, (qid,)).fetchone()[0]

    reviews_before = mock_reviews()
    with ThreadPoolExecutor(max_workers=6) as pool:
        confirms = list(
            pool.map(
                lambda _: httpx.post(f"{api}/{sid}/answers/{qid}/confirm", json={"rating": 3}, timeout=20), range(6)
            )
        )
    assert {c.status_code for c in confirms} == {200}

    with sqlite3.connect(live_server.db_path) as db:
        answered = db.execute(
            "SELECT count(*) FROM mock_question WHERE mock_session_id = ? AND submitted_at IS NOT NULL", (sid,)
        ).fetchone()[0]
    assert answered == 1
    assert mock_reviews() == reviews_before + 1
