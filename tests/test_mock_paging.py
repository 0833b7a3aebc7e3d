"""The mock list API and /mock/history page through the sessions, and /mock reads only the three it shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.models import MockSession

USER = 1
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sessions(client, session) -> list[int]:
    """120 sessions an hour apart: every tenth discarded, the newest two still active; ids newest first."""
    for i in range(120):
        status = "active" if i >= 118 else "discarded" if i % 10 == 0 else "finished"
        session.add(
            MockSession(
                user_id=USER,
                created_at=T0 + timedelta(hours=i),
                status=status,
                finished_at=T0 + timedelta(hours=i, minutes=20) if status == "finished" else None,
                requested_count=3,
                count=3,
                selection="random",
                seed=i,
                score=float(i % 100) if status == "finished" else None,
                auto_score=float(i % 100) if status == "finished" else None,
            )
        )
    session.commit()
    return [m["id"] for m in client.get("/api/mock-sessions").json()]


def test_the_list_api_pages_newest_first_with_the_total_in_a_header(client, sessions) -> None:
    assert len(sessions) == 120 and sessions == sorted(sessions, reverse=True)
    r = client.get("/api/mock-sessions", params={"limit": 50, "offset": 100})
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "120"
    assert [m["id"] for m in r.json()] == sessions[100:]
    assert set(r.json()[0]) >= {"id", "status", "created_at", "settings", "count", "answered", "score"}
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "x"}):
        assert client.get("/api/mock-sessions", params=params).status_code == 422


def test_history_shows_twenty_sessions_a_page_with_links_between_pages(client, sessions) -> None:
    def rows(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'<tr class="status-\w+">\s*<td>(\d+)</td>', html)]

    first = client.get("/mock/history").text
    assert rows(first) == sessions[:20] and "第 1 / 6 页 · 共 120 场" in first
    assert 'href="/mock/history?page=2" rel="next"' in first and 'rel="prev"' not in first
    third = client.get("/mock/history", params={"page": 3}).text
    assert rows(third) == sessions[40:60] and 'href="/mock/history?page=4" rel="next"' in third
    last = client.get("/mock/history", params={"page": 6}).text
    assert rows(last) == sessions[100:] and 'href="/mock/history?page=5" rel="prev"' in last
    assert rows(client.get("/mock/history", params={"page": 99}).text) == sessions[100:]  # past the end: last page
    assert client.get("/mock/history", params={"page": 0}).status_code == 422


def test_the_setup_page_lists_the_unfinished_and_the_three_newest_finished(client, sessions) -> None:
    html = client.get("/mock").text
    finished = [i for n, i in enumerate(reversed(sessions)) if n < 118 and n % 10][::-1]
    for sid in sessions[:2]:
        assert f'href="/mock/{sid}"' in html  # resume links
    recent = html[html.index("最近得分") :]
    recent = recent[: recent.index("</span>")]
    assert re.findall(r"#(\d+)", recent) == [str(sid) for sid in finished[:3]]
