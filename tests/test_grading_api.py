"""POST /api/check, and the same checker in the drill reveal and the mock interview (rating capped at Hard)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from app.grading import check_answer
from app.question_bank import get_bank
from app.services import mock as mock_svc
from tests.utils.csrf import hx, with_csrf

BANK = get_bank()
WRONG_Q04 = "其实不需要除以根号dk，softmax 也不会饱和。"
USER = 1
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


# ---------------------------------------------------------------- POST /api/check


def test_check_returns_verdicts_reasons_misconceptions_and_rating(client):
    r = client.post("/api/check", json={"question_id": "q04", "text": WRONG_Q04})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"question_id": "q04", **check_answer(WRONG_Q04, BANK["q04"]).to_dict()}
    assert body["score"] == 0.0
    assert body["suggested_rating"] == 1
    assert body["rating_reason"] == "检测到误区：说点积不需要缩放，建议最多 Hard"
    (m,) = body["misconceptions"]
    assert m["label"] == "说点积不需要缩放"
    assert m["correction"].startswith("需要：")
    assert [WRONG_Q04[s:e] for s, e in m["spans"]] == ["不需要除以"]
    assert [k["label"] for k in body["key_points"]] == [kp.label for kp in BANK["q04"].key_points]
    scale = body["key_points"][2]
    assert scale["verdict"] == "missed" and scale["capped_by"] == [0] and scale["reason"].startswith("误区：")
    assert set(body["key_points"][0]) >= {"label", "verdict", "spans", "reason"}


def test_a_good_answer_gets_covered_verdicts_and_a_good_rating(client):
    text = BANK["q10"].answer
    body = client.post("/api/check", json={"question_id": "q10", "text": text}).json()
    assert body["misconceptions"] == []
    assert body["score"] >= 90 and body["suggested_rating"] == 4
    for kp in body["key_points"]:
        for start, end in kp["spans"]:
            assert 0 <= start < end <= len(text)


def test_unknown_question_is_404_with_a_detail(client):
    r = client.post("/api/check", json={"question_id": "q61", "text": "x"})
    assert r.status_code == 404
    assert r.json() == {"detail": "Question not found"}


def test_text_over_20000_characters_is_422_and_20000_is_fine(client):
    assert client.post("/api/check", json={"question_id": "q01", "text": "注" * 20_000}).status_code == 200
    r = client.post("/api/check", json={"question_id": "q01", "text": "注" * 20_001})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "text"]


def test_missing_or_extra_fields_are_422(client):
    assert client.post("/api/check", json={"question_id": "q01"}).status_code == 422
    assert client.post("/api/check", json={"question_id": "q01", "text": "x", "extra": 1}).status_code == 422
    assert client.post("/api/check", json={"question_id": 4, "text": "x"}).status_code == 422


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert "/api/check" in schema["paths"]
    assert "404" in schema["paths"]["/api/check"]["post"]["responses"]


# ---------------------------------------------------------------- drill reveal


def reveal(client, question_id: str, answer: str) -> str:
    token = client.get(f"/drill?focus={question_id}")  # make the card current
    assert token.status_code == 200
    card = client.get("/api/drill/next").json()
    if card["question_id"] != question_id:
        # the focused practice serves the card; its token is on the page
        html = token.text
        start = html.index('name="review_token" value="') + len('name="review_token" value="')
        review_token = html[start : html.index('"', start)]
    else:
        review_token = card["review_token"]
    response = client.post(
        "/drill/reveal",
        data=with_csrf(
            {"question_id": question_id, "review_token": review_token, "answer": answer, "focus": question_id}
        ),
        headers=hx(),
    )
    assert response.status_code == 200
    return response.text


def test_drill_back_shows_the_misconception_its_correction_and_caps_the_suggestion(client):
    html = reveal(client, "q04", "<b>x</b> " + WRONG_Q04)
    assert 'id="drill-misconceptions"' in html
    assert "说点积不需要缩放" in html and "更正：需要：d_k 大时点积方差为 d_k" in html
    assert '<mark class="mark-wrong">不需要除以</mark>' in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "建议评分：再来 Again（检测到误区，最多 Hard）" in html
    assert "‘饱和’被‘不’否定" in html  # the reason under the saturation key point


def test_drill_back_without_misconceptions_suggests_from_the_score(client):
    html = reveal(client, "q10", BANK["q10"].answer)
    assert 'id="drill-misconceptions"' not in html
    assert "建议评分：简单 Easy" in html
    assert 'class="grade grade-4 suggested"' in html


# ---------------------------------------------------------------- mock interview


def one_question_mock(session, question_id: str):
    bank = {question_id: BANK[question_id]}
    mock = mock_svc.create_session(
        session=session, user_id=USER, settings=mock_svc.MockSettings(count=1), now=T0, rng=random.Random(1), bank=bank
    )
    return mock, bank


def test_mock_answer_with_a_misconception_is_rated_hard_at_best(session):
    mock, bank = one_question_mock(session, "q10")
    text = (
        "Q 来自 encoder 的输出，K、V 来自 decoder。"
        "每层共享同一份 encoder 输出，推理时缓存一次复用，注意力矩阵是软对齐。"
    )
    mock_svc.serve_current(session=session, user_id=USER, mock_id=mock.id, now=T0)
    item = mock_svc.submit_answer(
        session=session, user_id=USER, mock_id=mock.id, question_id="q10", text=text, now=T0 + timedelta(seconds=60),
        bank=bank,
    )  # fmt: skip
    view = mock_svc.answer_view(item, BANK["q10"], T0 + timedelta(seconds=61), mock)
    (swapped,) = view["misconceptions"]
    assert swapped["label"] == "把 Q/K/V 的来源说反（Q 来自 encoder，或 K/V 来自 decoder）"
    assert view["misconceptions"][0]["standing"] is True
    assert view["coverage"]["confirmed"] >= 40  # the other key points are covered …
    assert view["suggested_rating"] == 2  # … but a stated misconception caps the suggestion at Hard
    assert view["rating_reason"].startswith("检测到误区：把 Q/K/V 的来源说反")
    assert view["key_points"][0]["reason"].startswith("误区：")
    # the learner disputes it by marking a capped key point covered: the cap goes
    mock_svc.set_verdict(session=session, user_id=USER, mock_id=mock.id, question_id="q10", index=0, verdict="covered")
    item = mock_svc.get_item(session=session, mock=mock, question_id="q10")
    view = mock_svc.answer_view(item, BANK["q10"], T0 + timedelta(seconds=62), mock)
    assert view["misconceptions"][0]["standing"] is False
    assert view["suggested_rating"] >= 2
    # confirming without a rating records the suggestion; the report lists the misconception with its correction
    mock_svc.set_verdict(session=session, user_id=USER, mock_id=mock.id, question_id="q10", index=0, verdict="missed")
    confirmed = mock_svc.confirm(session=session, user_id=USER, mock_id=mock.id, question_id="q10", now=T0, bank=bank)
    assert confirmed.suggested_rating == 2 and confirmed.rating == 2
    mock_svc.finish(session=session, user_id=USER, mock_id=mock.id, now=T0 + timedelta(minutes=3), bank=bank)
    report = mock_svc.build_report(session=session, user_id=USER, mock_id=mock.id, now=T0, bank=bank)
    (m,) = report["misconceptions"]
    assert m["question_id"] == "q10" and m["correction"].startswith("Q 来自 decoder")
    # the automatic figure pays the misconception penalty
    assert report["auto_score"] < report["questions"][0]["coverage"]["confirmed"]


def test_a_session_saved_before_the_bank_gained_a_key_point_stays_readable(session):
    """Rows hold one verdict per key point as the bank was then; reasons and misconceptions were never stored."""
    mock, bank = one_question_mock(session, "q07")
    mock_svc.serve_current(session=session, user_id=USER, mock_id=mock.id, now=T0)
    item = mock_svc.submit_answer(
        session=session, user_id=USER, mock_id=mock.id, question_id="q07", text="掩码 mask", now=T0, bank=bank
    )
    n = len(BANK["q07"].key_points)
    item.auto_verdicts = ["covered"] * (n - 1)  # as stored when q07 had one key point fewer
    item.verdicts = ["covered"] * (n - 1)
    item.spans = [[] for _ in range(n - 1)]
    session.add(item)
    session.commit()
    view = mock_svc.answer_view(item, BANK["q07"], T0, mock)
    assert [k["verdict"] for k in view["key_points"]] == ["covered"] * (n - 1) + ["missed"]
    assert all("reason" in k for k in view["key_points"])
    confirmed = mock_svc.confirm(session=session, user_id=USER, mock_id=mock.id, question_id="q07", now=T0, bank=bank)
    assert confirmed.verdicts == ["covered"] * (n - 1) + ["missed"]
    mock_svc.finish(session=session, user_id=USER, mock_id=mock.id, now=T0, bank=bank)
    report = mock_svc.build_report(session=session, user_id=USER, mock_id=mock.id, now=T0, bank=bank)
    assert 0 < report["score"] < 100


def test_the_modern_track_is_checked_too(client):
    text = "GQA 让几个 query 头共享一组 K/V，KV cache 按组数缩小。"
    r = client.post("/api/check", json={"question_id": "q35", "text": text})
    assert r.status_code == 200
    assert r.json()["question_id"] == "q35" and len(r.json()["key_points"]) >= 4
