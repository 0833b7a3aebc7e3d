"""Mock interview JSON API: the full flow, timing, hard stop, double submits, bad input, selection, report."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from app.grading import check_answer
from app.models import DrillCard, DrillReview, MockQuestion, MockSession
from app.question_bank import get_bank
from app.routes.mock import get_rng
from app.services import drill
from tests.utils.csrf import JSON

BANK = get_bank()


def text_covering(question_id: str, indices: list[int]) -> str:
    """An answer naming the first keyword of every group of the given key points."""
    kps = BANK[question_id].key_points
    return "；".join(group[0] for i in indices for group in kps[i].keywords)


def create(client, **body) -> dict:
    body.setdefault("seed", 1)
    response = client.post("/api/mock-sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (
            s.exec(select(func.count()).select_from(MockSession)).one(),
            s.exec(select(func.count()).select_from(MockQuestion).where(MockQuestion.submitted_at.is_not(None))).one(),
            s.exec(select(func.count()).select_from(DrillReview)).one(),
        )


def run_question(client, sid: int, qid: str, text: str, **confirm) -> dict:
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/follow-up", headers=JSON)
    assert r.status_code == 200, r.text
    r = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/follow-up/answer", json={"skip": True})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json=confirm)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- the flow


def test_full_flow_answer_check_override_follow_up_rate_finish(client, clock, engine):
    data = create(client, count=3, practice=False)
    sid = data["id"]
    assert data["status"] == "active" and data["count"] == 3
    ids = [q["question_id"] for q in data["questions"]]
    assert len(set(ids)) == 3
    assert data["current"]["question_id"] == ids[0]
    assert data["current"]["question"]["zh"] == BANK[ids[0]].question.zh
    assert data["current"]["seconds_remaining"] == data["current"]["seconds_allowed"]

    # Question 1: two key points named, 50 seconds.
    q1 = ids[0]
    text = "我的回答：" + text_covering(q1, [0, 1])
    clock.advance(timedelta(seconds=50))
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": q1, "text": text, "seconds": 49})
    assert r.status_code == 200
    answer = r.json()
    expected = check_answer(text, BANK[q1]).key_points
    assert [k["verdict"] for k in answer["key_points"]] == [e.verdict for e in expected]
    assert answer["key_points"][0]["verdict"] == "covered"
    assert answer["key_points"][0]["label"] == BANK[q1].key_points[0].label
    for kp in answer["key_points"]:
        for start, end in kp["spans"]:
            assert 0 <= start < end <= len(text)  # spans index the learner's own text
    assert answer["key_points"][0]["spans"], "a covered key point points at the words that matched"
    assert answer["seconds_used"] == 50 and answer["client_seconds"] == 49 and not answer["overtime"]
    assert answer["reference_answer"] == BANK[q1].answer
    assert answer["stage"] == "review"

    # The learner flips the last key point to covered; the automatic verdict stays beside it.
    last = len(answer["key_points"]) - 1
    r = client.post(f"/api/mock-sessions/{sid}/answers/{q1}/verdicts", json={"index": last, "verdict": "covered"})
    assert r.status_code == 200
    kp_last = r.json()["key_points"][last]
    assert kp_last["verdict"] == "covered" and kp_last["auto_verdict"] == expected[last].verdict
    assert r.json()["coverage"]["confirmed"] > r.json()["coverage"]["auto"]

    # Follow-up: chosen once, about a key point the answer did not cover.
    r = client.post(f"/api/mock-sessions/{sid}/answers/{q1}/follow-up", headers=JSON)
    fu = r.json()["follow_up"]
    verdicts_now = [k["verdict"] for k in r.json()["key_points"]]
    probed = [f.key_point for f in BANK[q1].follow_ups]
    if any(kp is not None and verdicts_now[kp] == "missed" for kp in probed):
        assert verdicts_now[fu["key_point"]] == "missed"
    again = client.post(f"/api/mock-sessions/{sid}/answers/{q1}/follow-up", headers=JSON).json()["follow_up"]
    assert again["index"] == fu["index"]
    fu_kp = BANK[q1].follow_ups[fu["index"]].key_point
    fu_text = text_covering(q1, [fu_kp]) if fu_kp is not None else "不太确定，我的推理是……"
    r = client.post(f"/api/mock-sessions/{sid}/answers/{q1}/follow-up/answer", json={"text": fu_text})
    assert r.status_code == 200
    fu = r.json()["follow_up"]
    assert fu["status"] == "answered" and fu["text"] == fu_text
    assert fu["answer"] == BANK[q1].follow_ups[fu["index"]].answer
    if fu_kp is not None:
        assert fu["verdict"] == "covered"

    # Confirm with the suggested rating: recorded as a drill review with source "mock".
    suggested = r.json()["suggested_rating"]
    r = client.post(f"/api/mock-sessions/{sid}/answers/{q1}/confirm", json={})
    assert r.status_code == 200
    assert r.json()["rating"] == suggested and r.json()["stage"] == "done"
    with Session(engine) as s:
        reviews = s.exec(select(DrillReview)).all()
        assert [(rv.question_id, rv.source, rv.rating) for rv in reviews] == [(q1, "mock", suggested)]
        assert reviews[0].duration_ms == 50_000
        card = s.exec(select(DrillCard).where(DrillCard.question_id == q1)).one()
    assert r.json()["next_due"] == card.due.isoformat()

    # Question 2: "I don't know", rated Again explicitly.
    state = client.get(f"/api/mock-sessions/{sid}").json()
    assert state["current"]["question_id"] == ids[1]
    clock.advance(timedelta(seconds=20))
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": ids[1], "text": "", "dont_know": True})
    assert r.json()["dont_know"] is True
    assert {k["verdict"] for k in r.json()["key_points"]} == {"missed"}
    assert r.json()["suggested_rating"] == 1
    r = client.post(f"/api/mock-sessions/{sid}/answers/{ids[1]}/confirm", json={"rating": 1})
    assert r.json()["rating"] == 1
    assert r.json()["follow_up"] is None  # never asked: not counted as skipped

    # Question 3 answered but not rated: finishing rates it with the suggestion.
    client.get(f"/api/mock-sessions/{sid}")
    r = client.post(
        f"/api/mock-sessions/{sid}/answers", json={"question_id": ids[2], "text": text_covering(ids[2], [0])}
    )
    q3_suggested = r.json()["suggested_rating"]
    report = client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON).json()
    assert report["status"] == "finished"
    q_scores = [q["score"] for q in report["questions"]]
    assert report["score"] == round(sum(q_scores) / 3, 1)
    assert report["auto_score"] == round(sum(q["auto_score"] for q in report["questions"]) / 3, 1)
    assert report["score"] > report["auto_score"]  # the learner's override raised the confirmed figure
    assert 0 <= report["score"] <= 100
    assert report["questions"][2]["rating"] == q3_suggested and report["questions"][2]["rated_automatically"]
    assert ids[1] in report["missed_question_ids"]
    assert report["follow_up_counts"] == {"asked": 1, "answered": 1, "skipped": 0}
    assert [q["seconds_used"] for q in report["questions"]][:2] == [50, 20]
    weakest = report["weakest_key_points"]
    assert weakest and all(w["verdict"] in ("missed", "partly") for w in weakest)
    assert weakest[0]["notes_section"] == BANK[weakest[0]["question_id"]].notes_section
    with Session(engine) as s:
        sources = s.exec(select(DrillReview.question_id, DrillReview.source)).all()
    assert sorted(sources) == sorted((q, "mock") for q in ids)

    # Listed in the history, finished, with its score.
    listed = client.get("/api/mock-sessions").json()
    assert [(x["id"], x["status"], x["score"]) for x in listed] == [(sid, "finished", report["score"])]
    assert client.get(f"/api/mock-sessions/{sid}/report").json()["score"] == report["score"]
    # Finishing again is harmless and changes nothing.
    assert client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON).json()["score"] == report["score"]
    assert counts(engine)[2] == 3


def test_the_missed_question_comes_back_sooner_in_the_drills(client, engine, clock):
    data = create(client, count=2)
    sid = data["id"]
    a, b = (q["question_id"] for q in data["questions"])
    run_question(client, sid, a, "不知道", rating=1)
    client.get(f"/api/mock-sessions/{sid}")
    run_question(client, sid, b, text_covering(b, range(len(BANK[b].key_points))), rating=4)
    with Session(engine) as s:
        states = drill.card_states(session=s, user_id=1, now=clock.now())
    assert states[a].due < states[b].due
    assert states[a].due - clock.now() <= timedelta(minutes=10)


def test_get_unknown_and_malformed_ids_are_404(client):
    for path in ("/api/mock-sessions/999", "/api/mock-sessions/abc", "/api/mock-sessions/-1"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["detail"] == "Mock interview not found"
    r = client.post("/api/mock-sessions/999/answers", json={"question_id": "q01", "text": "x"})
    assert r.status_code == 404
    assert client.post("/api/mock-sessions/999/finish", headers=JSON).status_code == 404
    assert client.get("/mock/999").status_code == 404
    assert client.get("/mock/999/report").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 61}, "count"),
        ({"track": "advanced"}, "track"),
        ({"track": "guide", "categories": ["inference"]}, "track"),
        ({"selection": "hardest"}, "selection"),
        ({"categories": ["cooking"]}, "categories"),
        ({"seconds_per_question": 5}, "seconds_per_question"),
        ({"seconds_per_question": 99999}, "seconds_per_question"),
    ],
)
def test_bad_settings_are_422_and_write_nothing(client, engine, body, field):
    r = client.post("/api/mock-sessions", json=body)
    assert r.status_code == 422
    assert field in str(r.json()["detail"])
    assert counts(engine) == (0, 0, 0)


def test_bad_answers_are_422_and_write_nothing(client, engine):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    other = next(q for q in BANK if q not in {x["question_id"] for x in data["questions"]})
    before = counts(engine)

    too_long = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": "注" * 20_001})
    assert too_long.status_code == 422
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": other, "text": "x"})
    assert r.status_code == 422 and "不是模拟面试" in r.json()["detail"]
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": "q99", "text": "x"})
    assert r.status_code == 422
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"text": "no question id"})
    assert r.status_code == 422
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": "x", "seconds": -1})
    assert r.status_code == 422
    assert counts(engine) == before

    # Exactly the limit is accepted.
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": "注" * 20_000})
    assert r.status_code == 200


def test_bad_verdicts_and_ratings_are_422(client):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": "softmax"})
    n = len(BANK[qid].key_points)
    base = f"/api/mock-sessions/{sid}/answers/{qid}"
    assert client.post(f"{base}/verdicts", json={"index": n, "verdict": "covered"}).status_code == 422
    assert client.post(f"{base}/verdicts", json={"index": 0, "verdict": "great"}).status_code == 422
    assert client.post(f"{base}/confirm", json={"rating": 5}).status_code == 422
    assert client.post(f"{base}/confirm", json={"verdicts": ["covered"]}).status_code == 422
    assert client.post(f"{base}/confirm", json={"verdicts": {str(n + 3): "covered"}}).status_code == 422
    # nothing confirmed by the failures
    assert client.get(base).json()["stage"] == "review"
    r = client.post(f"{base}/confirm", json={"verdicts": {"0": "partly"}, "rating": 2})
    assert r.status_code == 200
    assert r.json()["key_points"][0]["verdict"] == "partly" and r.json()["rating"] == 2


def test_questions_must_be_answered_in_order(client):
    data = create(client, count=3)
    sid = data["id"]
    first, second = data["questions"][0]["question_id"], data["questions"][1]["question_id"]
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": second, "text": "x"})
    assert r.status_code == 409 and first in r.json()["detail"]
    client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": first, "text": "x"})
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": second, "text": "x"})
    assert r.status_code == 409 and "确认" in r.json()["detail"]  # confirm the first one before moving on


# ---------------------------------------------------------------- double submits


def test_double_submit_of_the_same_answer_writes_once(client, clock, engine):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    body = {"question_id": qid, "text": "点积 softmax\r\n第二行"}
    clock.advance(timedelta(seconds=30))
    first = client.post(f"/api/mock-sessions/{sid}/answers", json=body)
    clock.advance(timedelta(seconds=30))
    second = client.post(f"/api/mock-sessions/{sid}/answers", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()  # the stored answer, not a second one: same time used
    assert second.json()["seconds_used"] == 30
    with Session(engine) as s:
        rows = s.exec(select(MockQuestion).where(MockQuestion.question_id == qid)).all()
    assert len(rows) == 1 and rows[0].text == body["text"]

    different = client.post(f"/api/mock-sessions/{sid}/answers", json={**body, "text": "另一个答案"})
    assert different.status_code == 409
    assert client.get(f"/api/mock-sessions/{sid}/answers/{qid}").json()["text"] == body["text"]

    c1 = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json={"rating": 3})
    c2 = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json={"rating": 3})
    assert c1.status_code == c2.status_code == 200
    assert client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json={"rating": 1}).status_code == 409
    with Session(engine) as s:
        assert len(s.exec(select(DrillReview)).all()) == 1


def test_a_rating_claimed_before_a_crash_reaches_the_scheduler_once(client, engine):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": "softmax"})
    client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json={"rating": 2})
    # Simulate a crash between claiming the rating and recording the review: forget the review.
    with Session(engine) as s:
        s.exec(DrillReview.__table__.delete())  # type: ignore[attr-defined]
        s.exec(DrillCard.__table__.delete())  # type: ignore[attr-defined]
        item = s.exec(select(MockQuestion).where(MockQuestion.question_id == qid)).one()
        item.review_log_id = None
        s.add(item)
        s.commit()
    client.get(f"/api/mock-sessions/{sid}/report")
    client.get(f"/api/mock-sessions/{sid}/report")
    with Session(engine) as s:
        reviews = s.exec(select(DrillReview)).all()
    assert [(r.question_id, r.rating, r.source) for r in reviews] == [(qid, 2, "mock")]


# ---------------------------------------------------------------- timing and hard stop


def test_the_server_measures_time_and_marks_overtime(client, clock):
    data = create(client, count=3, seconds_per_question=60)
    sid, qid = data["id"], data["current"]["question_id"]
    clock.advance(timedelta(seconds=100))
    state = client.get(f"/api/mock-sessions/{sid}").json()
    assert state["current"]["seconds_used"] == 100 and state["current"]["seconds_remaining"] == -40
    r = client.post(
        f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text_covering(qid, [0]), "seconds": 10}
    )
    answer = r.json()
    assert answer["seconds_used"] == 100 and answer["client_seconds"] == 10  # the client's figure is not trusted
    assert answer["overtime"] is True and answer["late_unscored"] is False
    assert answer["key_points"][0]["verdict"] == "covered"  # without hard stop a late answer still counts


def test_hard_stop_keeps_a_late_answer_but_scores_it_as_no_answer(client, clock):
    data = create(client, count=3, seconds_per_question=60, hard_stop=True)
    sid, qid = data["id"], data["current"]["question_id"]
    clock.advance(timedelta(seconds=60 + 5))  # within the grace period: on time
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text_covering(qid, [0])})
    assert r.json()["overtime"] is False and r.json()["key_points"][0]["verdict"] == "covered"
    client.post(f"/api/mock-sessions/{sid}/answers/{qid}/confirm", json={})

    q2 = client.get(f"/api/mock-sessions/{sid}").json()["current"]["question_id"]
    clock.advance(timedelta(seconds=66))
    text = text_covering(q2, [0, 1])
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": q2, "text": text})
    answer = r.json()
    assert answer["overtime"] is True and answer["late_unscored"] is True
    assert answer["text"] == text  # kept for the learner to read
    assert {k["verdict"] for k in answer["key_points"]} == {"missed"}
    assert answer["coverage"] == {"auto": 0.0, "confirmed": 0.0}
    r = client.post(f"/api/mock-sessions/{sid}/answers/{q2}/verdicts", json={"index": 0, "verdict": "covered"})
    assert r.status_code == 422 and "硬性截止" in r.json()["detail"]


def test_hints_only_in_practice_mode_and_they_cost_half_the_first_key_point(client):
    plain = create(client, count=3)
    r = client.post(f"/api/mock-sessions/{plain['id']}/answers/{plain['current']['question_id']}/hint", headers=JSON)
    assert r.status_code == 422

    data = create(client, count=3, practice=True, seed=2, track="guide")  # keywords joined by ；: guide points
    sid, qid = data["id"], data["current"]["question_id"]
    r = client.post(f"/api/mock-sessions/{sid}/answers/{qid}/hint", headers=JSON)
    assert r.status_code == 200 and r.json()["hint"] == BANK[qid].key_points[0].label
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text_covering(qid, [0])})
    weights = [kp.weight for kp in BANK[qid].key_points]
    verdicts = [k["verdict"] for k in r.json()["key_points"]]
    assert verdicts[0] == "covered" and r.json()["hint_used"] is True
    full = sum(w for w, v in zip(weights, verdicts, strict=True) if v == "covered")
    full += sum(w * 0.5 for w, v in zip(weights, verdicts, strict=True) if v == "partly")
    assert r.json()["coverage"]["auto"] == round(100 * (full - weights[0] * 0.5) / sum(weights), 2)
    # asking again for a hint already revealed is harmless and returns the same label
    assert (
        client.post(f"/api/mock-sessions/{sid}/answers/{qid}/hint", headers=JSON).json()["hint"]
        == BANK[qid].key_points[0].label
    )
    report = client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON).json()
    assert report["hints_used"] == 1


# ---------------------------------------------------------------- selection


def test_count_categories_and_no_repeats(client):
    data = create(client, count=10, categories=["implementation"])
    ids = [q["question_id"] for q in data["questions"]]
    assert sorted(ids) == ["q20", "q21", "q22", "q23"]  # the category has 4 questions: all of them, once each
    assert data["settings"]["requested_count"] == 10 and data["count"] == 4

    everything = create(client, count=60)
    assert sorted(q["question_id"] for q in everything["questions"]) == sorted(BANK)
    guide = create(client, count=60, track="guide")
    assert sorted(q["question_id"] for q in guide["questions"]) == [f"q{n:02d}" for n in range(1, 31)]
    assert guide["count"] == 30 and guide["settings"]["track"] == "guide"
    modern = create(client, count=60, track="modern")
    assert {q["question_id"] for q in modern["questions"]} == {q for q in BANK if int(q[1:]) > 30}


def test_default_time_comes_from_difficulty(client):
    data = create(client, count=30)
    for q in data["questions"]:
        assert q["seconds_allowed"] == {1: 120, 2: 180, 3: 300}[BANK[q["question_id"]].difficulty]
    fixed = create(client, count=3, seconds_per_question=240)
    assert {q["seconds_allowed"] for q in fixed["questions"]} == {240}


def test_recent_sessions_questions_are_avoided_when_the_pool_allows(client):
    first = {q["question_id"] for q in create(client, count=10, seed=1)["questions"]}
    second = {q["question_id"] for q in create(client, count=10, seed=1)["questions"]}
    third = {q["question_id"] for q in create(client, count=10, seed=1)["questions"]}
    assert not first & second and not (first | second) & third
    # the pool of 30 is used up: the fourth session must reuse, and does so without repeats inside it
    fourth = [q["question_id"] for q in create(client, count=5, seed=1)["questions"]]
    assert len(set(fourth)) == 5


def test_randomness_is_injectable(client, clock):
    from app import mock_report as rules
    from app.main import app

    def expected(seed_source: random.Random) -> list[str]:
        seed = seed_source.randrange(2**31)
        order = rules.order_questions(
            candidates=list(BANK), selection="random", cards={}, recent=set(), now=clock.now(), rng=random.Random(seed)
        )
        return order[:5]

    app.dependency_overrides[get_rng] = lambda: random.Random(42)
    try:
        data = client.post("/api/mock-sessions", json={"count": 5}).json()
    finally:
        del app.dependency_overrides[get_rng]
    assert [q["question_id"] for q in data["questions"]] == expected(random.Random(42))


def test_a_seed_in_the_request_fixes_the_selection(client, clock):
    from app import mock_report as rules

    data = client.post("/api/mock-sessions", json={"count": 5, "seed": 7}).json()
    seed = random.Random(7).randrange(2**31)
    order = rules.order_questions(
        candidates=list(BANK), selection="random", cards={}, recent=set(), now=clock.now(), rng=random.Random(seed)
    )
    assert [q["question_id"] for q in data["questions"]] == order[:5]


def test_weakest_first_uses_the_drill_scheduler(client, engine, clock):
    with Session(engine) as s:
        for qid, rating in (("q07", 1), ("q12", 1), ("q03", 4), ("q25", 3)):
            drill.record_review(
                session=s, user_id=1, question_id=qid, rating=rating, now=clock.now() - timedelta(days=3)
            )
        states = drill.card_states(session=s, user_id=1, now=clock.now())
    data = create(client, count=4, selection="weakest")
    ids = [q["question_id"] for q in data["questions"]]
    retrievability = [states[q].retrievability for q in ids]
    assert retrievability == sorted(retrievability)  # type: ignore[type-var]
    assert set(ids[:2]) == {"q07", "q12"} and ids[2:] == ["q25", "q03"]  # Again-rated first, Easy last


def test_due_first_uses_the_drill_scheduler(client, engine, clock):
    with Session(engine) as s:
        drill.record_review(session=s, user_id=1, question_id="q05", rating=3, now=clock.now() - timedelta(days=30))
        drill.record_review(session=s, user_id=1, question_id="q18", rating=3, now=clock.now() - timedelta(days=20))
        drill.record_review(session=s, user_id=1, question_id="q29", rating=4, now=clock.now() - timedelta(minutes=1))
    data = create(client, count=60, selection="due")
    ids = [q["question_id"] for q in data["questions"]]
    assert ids[:2] == ["q05", "q18"]  # overdue, most overdue first
    assert ids[-1] == "q29"  # reviewed a minute ago: not due, after the new cards


# ---------------------------------------------------------------- abandoning


def test_finish_early_counts_unanswered_questions_as_zero(client, engine):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": qid, "text": text_covering(qid, [0, 1, 2])})
    report = client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON).json()
    assert report["answered"] == 1
    assert report["score"] == round(report["questions"][0]["score"] / 3, 1)
    assert [q["answered"] for q in report["questions"]] == [True, False, False]
    # the two never answered are among the questions to drill now
    assert {q["question_id"] for q in report["questions"][1:]} <= set(report["missed_question_ids"])
    with Session(engine) as s:
        assert [r.question_id for r in s.exec(select(DrillReview)).all()] == [qid]  # unanswered: no review
    r = client.post(f"/api/mock-sessions/{sid}/answers", json={"question_id": report["questions"][1]["question_id"]})
    assert r.status_code == 409


def test_an_abandoned_question_keeps_the_time_it_had_when_the_session_ended(client, clock):
    data = create(client, count=3)
    sid, qid = data["id"], data["current"]["question_id"]
    run_question(client, sid, qid, "不知道")
    clock.advance(timedelta(seconds=45))
    client.get(f"/api/mock-sessions/{sid}")  # the second question is shown, its clock starts
    clock.advance(timedelta(seconds=30))
    client.post(f"/api/mock-sessions/{sid}/finish", headers=JSON)
    clock.advance(timedelta(days=1))  # the report is opened again the next day
    report = client.get(f"/api/mock-sessions/{sid}/report").json()
    second = report["questions"][1]
    assert (second["answered"], second["seconds_used"]) == (False, 30)
    assert second["seconds_remaining"] == second["seconds_allowed"] - 30
    assert client.get(f"/api/mock-sessions/{sid}").json()["questions"][1]["seconds_used"] == 30
    page = client.get(f"/mock/{sid}/report").text
    assert f"0:30 / {second['seconds_allowed'] // 60}:00" in page

    thrown = create(client, count=3)
    clock.advance(timedelta(seconds=20))
    client.post(f"/api/mock-sessions/{thrown['id']}/discard", headers=JSON)
    clock.advance(timedelta(hours=5))
    assert client.get(f"/api/mock-sessions/{thrown['id']}").json()["questions"][0]["seconds_used"] == 20


def test_discard_keeps_the_session_out_of_the_trend(client):
    kept = create(client, count=3)
    client.post(f"/api/mock-sessions/{kept['id']}/finish", headers=JSON)
    thrown = create(client, count=3)
    r = client.post(f"/api/mock-sessions/{thrown['id']}/discard", headers=JSON)
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    assert client.post(f"/api/mock-sessions/{thrown['id']}/finish", headers=JSON).status_code == 409
    assert client.post(f"/api/mock-sessions/{kept['id']}/discard", headers=JSON).status_code == 409
    third = create(client, count=3)
    report = client.post(f"/api/mock-sessions/{third['id']}/finish", headers=JSON).json()
    assert [t["id"] for t in report["trend"]] == [kept["id"], third["id"]]
    assert [x["status"] for x in client.get("/api/mock-sessions").json()] == ["finished", "discarded", "finished"]


def test_trend_has_per_category_scores(client, clock):
    a = create(client, count=3, categories=["basics"])
    run_question(client, a["id"], a["current"]["question_id"], "不知道")
    client.post(f"/api/mock-sessions/{a['id']}/finish", headers=JSON)
    clock.advance(timedelta(days=1))
    b = create(client, count=3, categories=["basics", "depth"])
    qid = b["current"]["question_id"]
    run_question(client, b["id"], qid, text_covering(qid, range(len(BANK[qid].key_points))))
    report = client.post(f"/api/mock-sessions/{b['id']}/finish", headers=JSON).json()
    first, second = report["trend"]
    assert first["score"] == 0 and set(first["categories"]) == {"basics"}
    assert second["current"] and second["score"] == report["score"] > 0
    assert set(second["categories"]) <= {"basics", "depth"}


def test_a_repeated_request_id_returns_the_first_session_and_writes_nothing(client, engine):
    body = {"count": 3, "request_id": "retry-key-0001"}
    first = client.post("/api/mock-sessions", json=body)
    assert first.status_code == 201 and "replayed" not in first.json()
    again = client.post("/api/mock-sessions", json=body | {"count": 5})
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["id"] == first.json()["id"] and len(again.json()["questions"]) == 3
    assert counts(engine)[0] == 1
    bad = client.post("/api/mock-sessions", json={"count": 3, "request_id": "short"})
    assert bad.status_code == 422 and "request_id" in str(bad.json()["detail"])
    assert counts(engine)[0] == 1
