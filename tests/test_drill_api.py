"""Drill JSON API and pages: next card, grading with tokens, undo, 422s that write nothing, htmx and no-JS flows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from app.models import DrillReview
from app.question_bank import get_bank
from tests.utils.api import error_text
from tests.utils.csrf import JSON, hx, with_csrf


def _reviews(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(DrillReview)).one()


def _grade(client, rating=3, **extra):
    card = client.get("/api/drill/next").json()
    body = {"question_id": card["question_id"], "rating": rating, "review_token": card["review_token"]} | extra
    return card, client.post("/api/drill/reviews", json=body)


def test_next_card_has_token_and_four_intervals(client):
    card = client.get("/api/drill/next").json()
    assert card["question_id"] == "q01"
    assert card["review_token"].startswith("1.q01.0.")
    assert card["intervals"] == {"again": 60, "hard": 330, "good": 600, "easy": 8 * 86400}
    assert card["interval_labels"] == {"again": "1分钟", "hard": "6分钟", "good": "10分钟", "easy": "8天"}
    assert card["counts"]["new_available"] == 10


@pytest.mark.parametrize(("rating", "name"), [(1, "again"), (2, "hard"), (3, "good"), (4, "easy")])
def test_grading_applies_exactly_the_interval_shown(client, rating, name):
    card, response = _grade(client, rating, duration_ms=4200)
    assert response.status_code == 201
    result = response.json()
    assert result["interval_seconds"] == card["intervals"][name]
    assert result["next_due"] == card["interval_due"][name]
    assert result["card"]["state"] == ("review" if rating == 4 else "learning")
    assert result["replayed"] is False


def test_replayed_token_gets_the_recorded_result_and_writes_nothing(client, engine):
    card, first = _grade(client, 3)
    body = {"question_id": card["question_id"], "rating": 1, "review_token": card["review_token"]}
    again = client.post("/api/drill/reviews", json=body)
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["log_id"] == first.json()["log_id"] and again.json()["rating"] == 3
    assert _reviews(engine) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"rating": 5}, "rating must be 1 (Again), 2 (Hard), 3 (Good) or 4 (Easy), got 5"),
        ({"rating": "good"}, "rating must be 1"),
        ({"rating": None}, "rating must be 1"),
        ({"review_token": "1.q01.0.ffffffffffffffff"}, "does not match the current state of q01"),
        ({"review_token": ""}, "review_token is required"),
        ({"question_id": "q99"}, "unknown question_id"),
        ({"duration_ms": -5}, "duration_ms must be"),
        ({"extra": 1}, "unknown field 'extra'"),
    ],
)
def test_bad_review_is_422_with_a_clear_message_and_writes_nothing(client, engine, body, detail):
    card = client.get("/api/drill/next").json()
    payload = {"question_id": card["question_id"], "rating": 3, "review_token": card["review_token"]} | body
    response = client.post("/api/drill/reviews", json=payload)
    assert response.status_code == 422
    assert detail in error_text(response)
    assert _reviews(engine) == 0


def test_undo_restores_the_card_and_the_undone_token_stays_spent(client, engine):
    card, graded = _grade(client, 3)
    response = client.post("/api/drill/undo", headers=JSON)
    assert response.status_code == 200
    assert response.json()["question_id"] == "q01" and response.json()["card"]["state"] == "new"
    assert response.json()["undone_log_id"] == graded.json()["log_id"]
    assert _reviews(engine) == 0
    shown_again = client.get("/api/drill/next").json()
    assert shown_again["question_id"] == "q01" and shown_again["review_token"] != card["review_token"]
    # a late replay of the undone request is refused, not recorded again
    late = client.post(
        "/api/drill/reviews", json={"question_id": "q01", "rating": 3, "review_token": card["review_token"]}
    )
    assert late.status_code == 409 and late.json()["detail"].startswith("q01 的这次评分已撤销")
    assert "undone" in late.json()["detail"]
    assert _reviews(engine) == 0
    nothing = client.post("/api/drill/undo", headers=JSON)
    assert nothing.status_code == 422 and "nothing to undo" in nothing.json()["detail"]


def test_undo_of_a_named_review_answers_409_once_it_is_gone(client, engine):
    _, first = _grade(client, 3)
    _, second = _grade(client, 4)
    second_id = second.json()["log_id"]
    assert client.post(f"/api/drill/undo?review_id={second_id}", headers=JSON).status_code == 200
    again = client.post(f"/api/drill/undo?review_id={second_id}", headers=JSON)
    assert again.status_code == 409
    assert (
        again.json()["detail"].startswith("这次评分（q02）已经撤销过了") and "already undone" in again.json()["detail"]
    )
    assert _reviews(engine) == 1  # the first review was not undone in its place
    # a review named while a newer one exists is not the newest: 409, nothing undone
    _, third = _grade(client, 3)
    stale = client.post(f"/api/drill/undo?review_id={first.json()['log_id']}", headers=JSON)
    assert stale.status_code == 409 and "no longer the newest" in stale.json()["detail"]
    assert _reviews(engine) == 2
    # ids are never reused: the review after an undo gets a new id
    assert third.json()["log_id"] > second_id


def test_empty_queue_says_when_the_next_card_is_due(client, clock):
    assert client.put("/api/settings", json={"new_per_day": 1}).status_code == 200
    _grade(client, 4)
    empty = client.get("/api/drill/next").json()
    assert empty["question_id"] is None
    assert empty["next_due"] == "2026-11-03T00:00:00+00:00"  # tomorrow's new card (UTC day)
    clock.advance(timedelta(days=1))
    assert client.get("/api/drill/next").json()["question_id"] == "q02"


def test_settings_api_leaves_out_and_null_fields_as_documented(client):
    client.put("/api/settings", json={"desired_retention": 0.85, "new_per_day": 20, "interview_date": "2026-12-01"})
    kept = client.put("/api/settings", json={"desired_retention": None, "new_per_day": None})
    every = ["guide", "modern", "code"]
    saved = {"desired_retention": 0.85, "new_per_day": 20, "interview_date": "2026-12-01", "tracks": every}
    assert kept.json() == saved
    cleared = client.put("/api/settings", json={"interview_date": None})
    assert cleared.json() == {"desired_retention": 0.85, "new_per_day": 20, "interview_date": None, "tracks": every}
    for body, field in [
        ({"new_per_day": "5"}, "new_per_day"),  # a string is not a number, even a numeric one
        ({"desired_retention": True}, "desired_retention"),
        ({"interview_date": 1767225600}, "interview_date"),  # a Unix time is not an ISO date
        ({"interview_date": "2026-12-01T00:00:00"}, "interview_date"),
    ]:
        response = client.put("/api/settings", json=body)
        assert response.status_code == 422, body
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", field] and error["msg"][0] >= "\u4e00", error  # Chinese first
    assert client.get("/api/settings").json() == cleared.json()


def test_settings_api_round_trip_and_validation(client):
    assert client.get("/api/settings").json() == {
        "desired_retention": 0.9,
        "new_per_day": 10,
        "interview_date": None,
        "tracks": ["guide", "modern", "code"],
    }
    ok = client.put("/api/settings", json={"desired_retention": 0.85, "interview_date": "2026-12-01"})
    assert ok.json() == {
        "desired_retention": 0.85,
        "new_per_day": 10,
        "interview_date": "2026-12-01",
        "tracks": ["guide", "modern", "code"],
    }
    modern = client.put("/api/settings", json={"tracks": ["code", "modern"]})
    assert modern.status_code == 200 and modern.json()["tracks"] == ["modern", "code"]  # display order
    for body, detail in [
        ({"tracks": []}, "choose at least one track"),
        ({"tracks": ["advanced"]}, "tracks"),
        ({"tracks": "guide"}, "tracks"),
        ({"desired_retention": 0.98}, "desired_retention must be between 0.7 and 0.97"),
        ({"desired_retention": 0.69}, "desired_retention must be between"),
        ({"new_per_day": 101}, "new_per_day must be a whole number from 0 to 100"),
        ({"new_per_day": -1}, "new_per_day must be"),
        ({"interview_date": "2026-02-30"}, "interview_date must be an ISO date"),
        ({"interview_date": "next friday"}, "interview_date must be an ISO date"),
        ({"colour": "blue"}, "unknown setting 'colour'"),
    ]:
        response = client.put("/api/settings", json=body)
        assert response.status_code == 422, body
        assert detail in error_text(response)
    assert client.get("/api/settings").json()["desired_retention"] == 0.85
    assert client.put("/api/settings", json={"interview_date": None}).json()["interview_date"] is None


def test_settings_change_the_intervals_shown(client):
    base = client.get("/api/drill/next").json()["intervals"]["easy"]
    client.put("/api/settings", json={"desired_retention": 0.97})
    assert client.get("/api/drill/next").json()["intervals"]["easy"] < base
    client.put("/api/settings", json={"interview_date": "2026-11-06"})  # clock: 2026-11-02 09:00
    card = client.get("/api/drill/next").json()
    assert card["interval_due"]["easy"] == "2026-11-03T00:00:00+00:00"
    assert card["interval_capped"]["easy"] is True


# ---------------------------------------------------------------- pages


def test_drill_page_shows_the_first_question_and_keyboard_help(client):
    html = client.get("/drill").text
    assert 'id="drill"' in html and 'data-phase="front"' in html and 'data-question="q01"' in html
    assert 'name="review_token" value="1.q01.0.' in html
    assert "Ctrl</kbd>+<kbd>Enter" in html
    assert client.get("/drill").headers["cache-control"] == "no-store"


def test_reveal_shows_key_point_coverage_with_escaped_highlights(client, engine):
    card = client.get("/api/drill/next").json()
    strong = next(x for x in get_bank()["q01"].samples if x.kind == "strong").text
    typed = "<script>x</script> " + strong
    response = client.post(
        "/drill/reveal",
        data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "answer": typed}),
        headers=hx(),
    )
    html = response.text
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="drill"') and 'data-phase="back"' in html
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "<mark>" in html and "verdict-covered" in html
    for label in ("1分钟", "6分钟", "10分钟", "8天"):
        assert label in html
    assert _reviews(engine) == 0  # revealing writes nothing


def test_htmx_grade_swaps_in_the_next_card(client, engine):
    card = client.get("/api/drill/next").json()
    response = client.post(
        "/drill/grade",
        data=with_csrf(
            {"question_id": "q01", "review_token": card["review_token"], "rating": "3", "duration_ms": "5000"}
        ),
        headers=hx(),
    )
    assert response.status_code == 200
    assert 'data-question="q02"' in response.text and "良好 Good" in response.text
    assert '<span class="count" id="count-done">1</span>' in response.text
    assert _reviews(engine) == 1
    # the same form posted again (double click, back button) records nothing more
    again = client.post(
        "/drill/grade",
        data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "rating": "1"}),
        headers=hx(),
    )
    assert "本次未重复记录" in again.text
    assert _reviews(engine) == 1


def test_plain_form_grade_redirects_so_refresh_never_regrades(client, engine):
    card = client.get("/api/drill/next").json()
    response = client.post(
        "/drill/grade",
        data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "rating": "4"}),
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/drill"
    assert 'data-question="q02"' in client.get("/drill").text


def test_grade_page_with_bad_rating_is_422_and_writes_nothing(client, engine):
    card = client.get("/api/drill/next").json()
    response = client.post(
        "/drill/grade",
        data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "rating": "7"}),
        headers=hx(),
    )
    assert response.status_code == 422
    assert "rating must be 1" in response.text
    assert _reviews(engine) == 0


def test_undo_page_shows_the_restored_card(client):
    card = client.get("/api/drill/next").json()
    client.post(
        "/drill/grade", data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "rating": "1"})
    )
    response = client.post("/drill/undo", headers=hx())
    assert 'data-question="q01"' in response.text and "已撤销 q01" in response.text


def test_stale_reveal_moves_on(client):
    card = client.get("/api/drill/next").json()
    client.post(
        "/drill/grade", data=with_csrf({"question_id": "q01", "review_token": card["review_token"], "rating": "3"})
    )
    response = client.post(
        "/drill/reveal",
        data=with_csrf({"question_id": "q01", "review_token": card["review_token"]}),
        headers=hx(),
    )
    assert "已在别处评分" in response.text and 'data-question="q02"' in response.text


def test_empty_state_links_to_notes_and_visualizer(client):
    client.put("/api/settings", json={"new_per_day": 0})
    html = client.get("/drill").text
    assert 'data-phase="empty"' in html and "Nothing due" in html
    assert 'href="/notes"' in html and 'href="/visualize"' in html


def test_leech_card_links_to_its_note_and_demo(client, clock):
    for _ in range(4):
        card = client.get("/api/drill/next").json()
        assert card["question_id"] == "q01"
        client.post(
            "/api/drill/reviews", json={"question_id": "q01", "rating": 1, "review_token": card["review_token"]}
        )
        clock.advance(timedelta(minutes=2))
    html = client.get("/drill").text
    assert "顽固卡 Leech" in html and 'href="/notes/' in html


def test_home_today_panel(client):
    html = client.get("/").text
    assert 'id="today"' in html and '<span class="count" id="today-new">10</span>' in html
    assert "面试日期" in html
    client.put("/api/settings", json={"interview_date": "2026-11-20"})
    _grade(client, 4)
    html = client.get("/").text
    assert 'id="home-readiness"' in html and "还有 18 天" in html


def test_grade_page_with_a_stale_token_says_so_in_chinese_and_writes_nothing(client, engine):
    card = client.get("/api/drill/next").json()
    body = {"question_id": "q01", "rating": 3, "review_token": card["review_token"]}
    assert client.post("/api/drill/reviews", json=body).status_code == 201
    client.post("/api/drill/undo", headers=JSON)  # q01 is new again; a token from a different state is stale
    response = client.post(
        "/drill/grade",
        data=with_csrf({"question_id": "q01", "review_token": "1.q01.3.ffffffffffffffff", "rating": "3"}),
        headers=hx(),
    )
    assert response.status_code == 422
    assert "q01 在显示之后已经变化" in response.text and "这次评分没有记录" in response.text
    assert _reviews(engine) == 0


# ---------------------------------------------------------------- focused practice (?focus=…)


def _shown(html: str) -> tuple[str, str]:
    import re

    match = re.search(r'data-question="(q\d\d)" data-token="([^"]+)"', html)
    assert match, "no card shown"
    return match.group(1), match.group(2)


def _hidden(html: str, name: str) -> str:
    import re

    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_parse_focus_keeps_known_ids_in_order_once():
    from app.services.drill import parse_focus

    assert parse_focus("q05, Q02，q05,,x1,q61") == (("q05", "q02"), ["x1", "q61"])
    assert parse_focus("") == ((), [])


def test_focused_practice_shows_its_cards_once_each_then_the_normal_queue(client, engine, clock):
    page = client.get("/drill?focus=q05,q02").text
    assert _shown(page)[0] == "q05"  # not q01, the queue's first new card
    assert "专项练习 Focused practice <strong>0 / 2</strong>" in page
    focus, since = _hidden(page, "focus"), _hidden(page, "since")
    assert focus == "q05,q02"

    def grade(html: str, rating: str = "3") -> str:
        qid, token = _shown(html)
        data = {"question_id": qid, "review_token": token, "rating": rating, "focus": focus, "since": since}
        return client.post("/drill/grade", data=with_csrf(data), headers=hx()).text

    clock.advance(timedelta(seconds=30))
    second = grade(page, rating="1")
    assert _shown(second)[0] == "q02" and "<strong>1 / 2</strong>" in second
    clock.advance(timedelta(seconds=30))
    done = grade(second)
    assert "专项练习完成" in done and _shown(done)[0] == "q01"  # back to the FSRS queue
    assert 'name="focus"' not in done  # the practice is over: forms stop carrying it
    assert _reviews(engine) == 2
    # a refresh of the practice URL does not start it over: both cards were reviewed since it began
    again = client.get(f"/drill?focus={focus}&since={since.replace('+', '%2B')}").text
    assert "专项练习完成" in again and _shown(again)[0] == "q01"


def test_focused_practice_without_javascript_redirects_back_into_it(client, clock):
    page = client.get("/drill?focus=q07,q08").text
    qid, token = _shown(page)
    data = {"question_id": qid, "review_token": token, "rating": "3"}
    data |= {"focus": _hidden(page, "focus"), "since": _hidden(page, "since")}
    response = client.post("/drill/grade", data=with_csrf(data), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/drill?focus=q07%2Cq08&since=")
    assert _shown(client.get(response.headers["location"]).text)[0] == "q08"


def test_focus_with_unknown_ids_says_so_and_uses_the_rest(client):
    page = client.get("/drill?focus=q99,<b>x</b>,q03").text
    assert "未知题目已忽略" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert _shown(page)[0] == "q03"
    only_bad = client.get("/drill?focus=zzz").text
    assert "未知题目已忽略" in only_bad and _shown(only_bad)[0] == "q01"


def test_home_offers_the_learning_card_the_drill_would_show(client):
    """No card due and no new allowance, but a learning card due within 20 minutes: home and /drill agree."""
    client.put("/api/settings", json={"new_per_day": 1})
    _grade(client, 1)  # q01 → learning, due in 1 minute; today's one new card is used up
    html = client.get("/").text
    assert "继续学习 Continue" in html and "1 张学习中的卡片" in html
    assert 'data-question="q01"' in client.get("/drill").text


def test_a_code_card_in_the_drill_opens_its_exercise_and_a_lab_review_schedules_it(client):
    from app.codelab.exercises import get_exercises

    first = next(iter(get_exercises().values()))
    client.put("/api/settings", json={"tracks": ["code"]})
    card = client.get("/api/drill/next").json()
    assert card["question_id"] == first.card_id and card["card"]["track"] == "code"
    assert card["card"]["category"] == "code"
    html = client.get("/drill").text
    assert 'data-phase="code"' in html and f'href="/code/{first.slug}"' in html and "去编辑器写代码" in html
    body = {"question_id": first.card_id, "rating": 3, "review_token": card["review_token"]}
    assert client.post("/api/drill/reviews", json=body).status_code == 201
    cards = {c["question_id"]: c for c in client.get("/api/drill/cards").json()}
    assert cards[first.card_id]["state"] == "learning" and cards[first.card_id]["track"] == "code"
    stats = client.get("/api/stats").json()
    assert stats["tracks"] == ["code"] and set(stats["mastery"]) == {"code"}


def test_tracks_setting_limits_what_the_queue_schedules(client):
    client.put("/api/settings", json={"tracks": ["modern"], "new_per_day": 100})
    seen = []
    while (card := client.get("/api/drill/next").json())["question_id"] is not None:
        seen.append(card["question_id"])
        body = {"question_id": card["question_id"], "rating": 4, "review_token": card["review_token"]}
        assert client.post("/api/drill/reviews", json=body).status_code == 201
    modern = [q for q in get_bank() if int(q[1:]) > 30]
    assert seen == modern  # new cards in bank order, only the modern track's
    client.put("/api/settings", json={"tracks": ["guide", "modern"]})
    assert client.get("/api/drill/next").json()["question_id"] == "q01"  # the guide's cards come back as new
    guide_only = client.put("/api/settings", json={"tracks": ["guide"]}).json()
    assert guide_only["tracks"] == ["guide"]
    assert client.get("/api/stats").json()["counts"]["total"] == 30
