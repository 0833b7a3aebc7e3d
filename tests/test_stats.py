"""Stats and readiness: counts, reviews per day, true retention, mastery, forecast, readiness on the interview date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Scheduler

from app import scheduler as sched
from app.services import drill, stats
from tests.utils.csrf import JSON

USER = 1
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _grade(session, qid, rating, now):
    item = drill.card_for_question(session=session, user_id=USER, question_id=qid, now=now, reason="due")
    return drill.record_review(
        session=session, user_id=USER, question_id=qid, rating=rating, now=now, review_token=item.review_token
    )


def _interview(session, day):
    drill.save_settings(
        session=session,
        user_id=USER,
        settings=drill.DrillSettingsView(0.9, 10, day, ("guide",)),  # the guide's 30: fixed figures
        now=T0,
    )


def test_no_readiness_without_an_interview_date(session):
    assert stats.readiness(session=session, user_id=USER, now=T0) is None
    assert stats.compute_stats(session=session, user_id=USER, now=T0).to_dict()["readiness"] is None


def test_readiness_is_fsrs_recall_on_the_interview_date_with_new_cards_as_zero(session):
    _interview(session, date(2026, 11, 30))
    _grade(session, "q01", 4, T0)
    _grade(session, "q12", 3, T0)
    _grade(session, "q12", 3, T0 + timedelta(minutes=10))
    r = stats.readiness(session=session, user_id=USER, now=T0 + timedelta(hours=1))
    at = datetime(2026, 11, 30, tzinfo=UTC)
    assert r.evaluated_at == at and r.days_left == 28
    fsrs = Scheduler(enable_fuzzing=False)
    states = drill.card_states(session=session, user_id=USER, now=at)
    expected = {}
    for qid in ("q01", "q12"):
        v = states[qid]
        card = sched.new_card(question_id=qid, now=T0)
        card.state, card.stability, card.difficulty = sched.State(2), v.stability, v.difficulty
        card.last_review, card.due = v.last_review, v.due
        expected[qid] = fsrs.get_card_retrievability(card, current_datetime=at)
    assert 0 < expected["q01"] < 1 and 0 < expected["q12"] < 1
    assert r.overall == pytest.approx((expected["q01"] + expected["q12"]) / 30)
    assert r.by_category["basics"] == pytest.approx(expected["q01"] / 10)
    assert r.by_category["depth"] == pytest.approx(expected["q12"] / 9)
    assert r.by_category["implementation"] == 0.0
    assert [w.question_id for w in r.weakest] == ["q02", "q03", "q04", "q05", "q06"]
    assert r.unseen == 28


def test_readiness_moves_as_the_learner_reviews(session):
    _interview(session, date(2026, 11, 20))
    figures = [stats.readiness(session=session, user_id=USER, now=T0).overall]
    for i, qid in enumerate(["q01", "q02", "q03", "q04"]):
        _grade(session, qid, 4, T0 + timedelta(minutes=i))
        figures.append(stats.readiness(session=session, user_id=USER, now=T0).overall)
    assert figures[0] == 0.0
    assert figures == sorted(figures) and len(set(figures)) == 5


def test_readiness_after_the_date_is_marked_past(session):
    _interview(session, date(2026, 10, 1))
    r = stats.readiness(session=session, user_id=USER, now=T0)
    assert r.past and r.evaluated_at == T0


def test_counts_heatmap_retention_and_forecast(session):
    settings = drill.DrillSettingsView(0.9, 30, None, ("guide",))
    drill.save_settings(session=session, user_id=USER, settings=settings, now=T0)
    _grade(session, "q01", 4, T0)  # review, due in 8 days
    _grade(session, "q02", 3, T0)  # learning, due in 10 minutes
    _grade(session, "q03", 4, T0)
    day2 = T0 + timedelta(days=8, hours=1)
    _grade(session, "q01", 3, day2)  # first review of the day: pass
    _grade(session, "q03", 1, day2)  # first review of the day: fail
    _grade(session, "q03", 3, day2 + timedelta(minutes=10))  # second review that day: not counted
    s = stats.compute_stats(session=session, user_id=USER, now=day2 + timedelta(minutes=20))
    assert s.counts["new"] == 27 and s.counts["review"] == 2 and s.counts["learning"] == 1
    assert s.counts["overdue"] == 1  # q02 was due on day 1
    assert s.counts["due_now"] == 1
    assert s.reviews_total == 6 and s.reviews_today == 3
    per_day = {c.day: c.count for c in s.heatmap}
    assert len(s.heatmap) == 90
    assert per_day[date(2026, 11, 2)] == 3 and per_day[date(2026, 11, 10)] == 3
    r7, r30 = s.retention
    assert (r7.passed, r7.total) == (1, 2) and r7.rate == 0.5
    assert (r30.passed, r30.total) == (1, 2)
    assert [d for d, _ in s.forecast][:2] == [date(2026, 11, 10), date(2026, 11, 11)]
    assert sum(n for _, n in s.forecast) <= 3 and s.forecast[0][1] == s.counts["due_today"]
    assert 0 < s.mastery["basics"] < 1 and s.mastery["depth"] == 0.0


def test_api_stats_fields(client):
    data = client.get("/api/stats").json()
    assert data["reviews_total"] == 0 and data["due_now"] == 0 and data["readiness"] is None
    assert len(data["reviews_per_day"]) == 90 and len(data["forecast"]) == 14
    assert set(data["true_retention"]) == {"7d", "30d"}
    client.put("/api/settings", json={"interview_date": "2026-11-20", "tracks": ["guide"]})
    card = client.get("/api/drill/next").json()
    client.post("/api/drill/reviews", json={"question_id": "q01", "rating": 4, "review_token": card["review_token"]})
    data = client.get("/api/stats").json()
    assert data["reviews_total"] == 1
    readiness = data["readiness"]
    assert readiness["interview_date"] == "2026-11-20" and 0 < readiness["overall"] < 1 / 30
    assert set(readiness["by_category"]) == {"basics", "depth", "implementation", "applications"}
    assert len(readiness["weakest"]) == 5


def test_stats_page_renders_svg_charts_with_text_numbers(client):
    client.put("/api/settings", json={"interview_date": "2026-11-20", "tracks": ["guide"]})
    card = client.get("/api/drill/next").json()
    client.post("/api/drill/reviews", json={"question_id": "q01", "rating": 4, "review_token": card["review_token"]})
    html = client.get("/stats").text
    assert html.count("<svg") == 4  # heatmap, forecast, mastery, readiness per category
    assert "2026-11-02：1 次" in html  # heatmap cell title
    assert 'id="readiness-overall"' in html
    assert 'id="mastery-data"' in html and "A. 基础与概念" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_reviews_count_on_the_day_of_the_study_time_zone(session, monkeypatch):
    from datetime import UTC, date, datetime

    from app.config import settings as app_settings
    from app.services import drill, stats

    monkeypatch.setattr(app_settings, "STUDY_TIMEZONE", "Asia/Shanghai")
    at = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 01:00 on 3 November in Beijing
    item = drill.card_for_question(session=session, user_id=1, question_id="q01", now=at, reason="new")
    drill.record_review(session=session, user_id=1, question_id="q01", rating=3, now=at, review_token=item.review_token)
    result = stats.compute_stats(session=session, user_id=1, now=at)
    assert result.reviews_today == 1
    assert {c.day: c.count for c in result.heatmap if c.count} == {date(2026, 11, 3): 1}
    assert result.forecast[0][0] == date(2026, 11, 3)


def test_pages_show_times_and_days_in_the_study_time_zone(client, clock, monkeypatch):
    from datetime import UTC, datetime

    from app.config import settings as app_settings

    monkeypatch.setattr(app_settings, "STUDY_TIMEZONE", "Asia/Shanghai")
    clock.set(datetime(2026, 11, 2, 17, 0, tzinfo=UTC))  # 01:00 on 3 November in Beijing
    mock = client.post("/api/mock-sessions", json={"count": 3}).json()
    assert "2026-11-03 01:00" in client.get("/mock/history").text
    client.post(f"/api/mock-sessions/{mock['id']}/finish", headers=JSON)
    assert "2026-11-03 01:00（北京时间）" in client.get(f"/mock/{mock['id']}/report").text
    assert "按北京时间计算" in client.get("/stats").text


def test_weakest_questions_are_listed_with_their_titles(client):
    client.put("/api/settings", json={"interview_date": "2026-11-20"})
    html = client.get("/stats").text
    weakest = html[html.index('<ol class="weakest">') : html.index("</ol>", html.index('<ol class="weakest">'))]
    assert "q01 用一句话解释 Transformer 的核心思想。" in weakest
    assert 'title="用一句话解释 Transformer 的核心思想。"' in client.get("/").text


def test_new_card_plan_counts_today_with_what_is_left_of_its_allowance():
    from app.services.stats import new_card_plan

    assert new_card_plan(unseen=30, days_left=7, new_per_day=2, new_available_today=2) == (14, 5)
    assert new_card_plan(unseen=30, days_left=7, new_per_day=10, new_available_today=0) == (30, 5)
    assert new_card_plan(unseen=0, days_left=7, new_per_day=0, new_available_today=0) == (0, 0)
    assert new_card_plan(unseen=30, days_left=0, new_per_day=10, new_available_today=10) == (0, 0)


def test_home_and_stats_warn_when_the_allowance_cannot_reach_every_question(client):
    client.put("/api/settings", json={"interview_date": "2026-11-09", "new_per_day": 2, "tracks": ["guide"]})
    readiness = client.get("/api/stats").json()["readiness"]
    assert (readiness["new_capacity"], readiness["new_needed_per_day"], readiness["short_of_new"]) == (14, 5, 16)
    for page in ("/", "/stats"):
        html = client.get(page).text
        assert 'id="new-plan"' in html and "还有 <strong>16</strong> 题一次都学不到" in html
    client.put("/api/settings", json={"new_per_day": 5})
    assert 'id="new-plan"' not in client.get("/").text


def test_stats_show_bars_per_track_then_per_category_when_several_tracks_are_scheduled(client):
    client.put("/api/settings", json={"interview_date": "2026-11-20", "tracks": ["modern", "code"]})
    data = client.get("/api/stats").json()
    assert data["tracks"] == ["modern", "code"] and set(data["mastery_by_track"]) == {"modern", "code"}
    assert set(data["readiness"]["by_track"]) == {"modern", "code"}
    assert set(data["mastery"]) == {"architecture", "training", "inference", "code"}
    html = client.get("/stats").text
    assert html.count("按轨道 By track") == 2 and 'id="mastery-tracks-data"' in html
    cats = html.split('id="mastery-data"')[1].split("</ul>")[0]
    assert "E. 现代架构" in cats and "H. 手撕代码" not in cats  # the code group is the code track's bar already
    assert "A. 基础与概念" not in html  # the guide is not scheduled
    guide = client.put("/api/settings", json={"tracks": ["guide"]})
    assert guide.status_code == 200 and "按轨道 By track" not in client.get("/stats").text
