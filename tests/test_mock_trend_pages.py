"""The mock report's trend and history as the learner reads them: study-time-zone times, marked sessions."""

from __future__ import annotations

import re
from datetime import timedelta

from app.config import settings
from app.question_bank import get_bank
from tests.utils.csrf import JSON

BANK = get_bank()


def create(client, **body) -> dict:
    body.setdefault("seed", 1)
    response = client.post("/api/mock-sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def answer_all(client, session: dict) -> None:
    """Answer every question with the first keyword of each key point, confirm, skip the follow-up."""
    for q in session["questions"]:
        qid = q["question_id"]
        text = "；".join(group[0] for kp in BANK[qid].key_points for group in kp.keywords)
        r = client.post(f"/api/mock-sessions/{session['id']}/answers", json={"question_id": qid, "text": text})
        assert r.status_code == 200, r.text
        client.post(f"/api/mock-sessions/{session['id']}/answers/{qid}/follow-up", headers=JSON)
        client.post(f"/api/mock-sessions/{session['id']}/answers/{qid}/follow-up/answer", json={"skip": True})
        assert client.post(f"/api/mock-sessions/{session['id']}/answers/{qid}/confirm", json={}).status_code == 200


def finish(client, sid: int) -> dict:
    r = client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON)
    assert r.status_code == 200, r.text
    return r.json()


def trend_rows(html: str) -> list[str]:
    table = html.split('id="trend-table"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", "<tr" + row)).strip() for row in table.split("<tr")[2:]]


def test_trend_times_are_in_the_study_time_zone_like_the_rest_of_the_report(client, clock, monkeypatch):
    monkeypatch.setattr(settings, "STUDY_TIMEZONE", "Asia/Shanghai")
    clock.advance(timedelta(hours=13, minutes=18))  # 2026-11-02 22:18 UTC = 11-03 06:18 in Beijing
    first = create(client, count=3)
    answer_all(client, first)
    finish(client, first["id"])
    clock.advance(timedelta(hours=1))
    second = create(client, count=3)
    answer_all(client, second)
    report = finish(client, second["id"])
    assert [t["label"] for t in report["trend"]] == ["11-03 06:18", "11-03 07:18"]
    html = client.get(f"/mock/{second['id']}/report").text
    assert "2026-11-03 07:18" in html  # the report header
    rows = trend_rows(html)
    assert rows[0].startswith(f"#{first['id']} 11-03 06:18") and rows[1].startswith(f"#{second['id']} 11-03 07:18")
    assert "22:18" not in html and "23:18" not in html


def test_export_file_is_named_by_the_study_time_zone_clock(client, clock, monkeypatch):
    monkeypatch.setattr(settings, "STUDY_TIMEZONE", "Asia/Shanghai")
    clock.advance(timedelta(hours=13, minutes=16, seconds=5))  # 22:16:05 UTC, already 11-03 in Beijing
    disposition = client.get("/api/export").headers["content-disposition"]
    assert disposition == 'attachment; filename="transformer-prep-drill-20261103-061605.json"'


def test_practice_and_early_finished_sessions_are_marked_in_the_trend(client, clock):
    full = create(client, count=3)
    answer_all(client, full)
    finish(client, full["id"])
    clock.advance(timedelta(hours=1))
    practice = create(client, count=3, practice=True)
    answer_all(client, practice)
    finish(client, practice["id"])
    clock.advance(timedelta(hours=1))
    early = create(client, count=3)
    finish(client, early["id"])  # ended before answering anything: three questions score 0
    html = client.get(f"/mock/{early['id']}/report").text
    rows = trend_rows(html)
    assert "练习模式" not in rows[0] and "提前结束" not in rows[0]
    assert "练习模式" in rows[1] and "提前结束" not in rows[1]
    assert "提前结束（3 题未作答，计 0 分）" in rows[2]
    chart = html.split('id="trend-chart"', 1)[1].split("</svg>", 1)[0]
    overall = chart.split('class="series series-overall"', 1)[1].split("</g>", 1)[0]
    dots = re.findall(r"<circle [^>]*>", overall)
    assert len(dots) == 3
    assert ['class="marked"' in d for d in dots] == [False, True, True]  # hollow: practice, finished early
    assert 'fill="#fff"' in dots[1] and 'fill="#fff"' not in dots[0]
    assert "空心点 = 练习模式或提前结束" in html


def test_a_discarded_session_offers_no_report(client):
    kept = create(client, count=3)
    finish(client, kept["id"])
    thrown = create(client, count=3)
    assert client.post(f"/api/mock-sessions/{thrown['id']}/discard", headers=JSON).status_code == 200
    html = client.get("/mock/history").text
    assert f'href="/mock/{kept["id"]}/report"' in html
    assert f'href="/mock/{thrown["id"]}/report"' not in html
    row = html.split(f"<td>{thrown['id']}</td>", 1)[1].split("</tr>", 1)[0]
    assert "已放弃" in row and "不计分" in row
