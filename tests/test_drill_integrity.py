"""Drill integrity: review tokens cannot be forged offline, undo and review are atomic in every interleaving,
an undone token stays spent, log ids are never reused, and the 0002 → head upgrade keeps a populated log."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import Session, func, select

from app.db import MIGRATIONS_DIR, alembic_config, make_engine
from app.main import prepare_database
from app.models import DrillCard, DrillReview, DrillReviewUndone
from app.secrets import keyed_digest
from app.services import drill, drill_transfer
from tests.conftest import app_client
from tests.utils.race import race

USER = 1
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROUNDS = 50


def _grade(session: Session, question_id: str, rating: int, now: datetime) -> drill.ReviewResult:
    item = drill.card_for_question(session=session, user_id=USER, question_id=question_id, now=now, reason="due")
    return drill.record_review(
        session=session,
        user_id=USER,
        question_id=question_id,
        rating=rating,
        now=now,
        review_token=item.review_token,
    )


def _undo_call(review_id: int, now: datetime) -> Callable[[Session], drill.UndoResult]:
    """An undo of one review, to run in a race."""
    return lambda s: drill.undo_last_review(session=s, user_id=USER, now=now, review_id=review_id)


def _review_call(question_id: str, token: str, rating: int, now: datetime) -> Callable[[Session], drill.ReviewResult]:
    """A review under a shown card's token, to run in a race."""
    return lambda s: drill.record_review(
        session=s, user_id=USER, question_id=question_id, rating=rating, now=now, review_token=token
    )


def _assert_consistent(engine, *, round_trip: bool = True) -> None:
    """Every card is exactly what its newest log row says, reps = its number of log rows, no card without a log
    or log without a card, and (round_trip) the export imports into an empty database giving the same export."""
    with Session(engine) as s:
        cards = {c.question_id: c for c in s.exec(select(DrillCard))}
        per_question: dict[str, list[DrillReview]] = defaultdict(list)
        for log in s.exec(select(DrillReview).order_by(DrillReview.id)):
            per_question[log.question_id].append(log)
        assert set(cards) == set(per_question)
        for qid, logs in per_question.items():
            card, newest = cards[qid], json.loads(logs[-1].card_after)
            assert card.reps == len(logs) == newest["reps"]
            assert card.fails == newest["fails"]
            assert card.due.isoformat() == newest["due"]
            for previous, following in zip(logs, logs[1:], strict=False):
                assert json.loads(following.card_before)["reps"] == json.loads(previous.card_after)["reps"]
        exported = drill_transfer.export_state(session=s, user_id=USER, now=T0 + timedelta(days=30))
    if not round_trip:
        return
    fresh = make_engine("sqlite://")
    prepare_database(fresh)
    with Session(fresh) as s:
        drill_transfer.import_state(session=s, user_id=USER, raw=json.dumps(exported), now=T0 + timedelta(days=30))
        again = drill_transfer.export_state(session=s, user_id=USER, now=T0 + timedelta(days=30))
    fresh.dispose()
    assert again["cards"] == exported["cards"] and again["reviews"] == exported["reviews"]


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


# ---------------------------------------------------------------- tokens


def test_a_token_computed_offline_from_public_values_does_not_grade(session):
    # The old scheme (a plain hash of user, question, version and last review) and a correct-looking token
    # under a different secret are both refused: only the install secret makes a token.
    public = hashlib.sha256(b"transformer-prep/drill-review/v1|1|q01|0|-").hexdigest()
    other_secret = keyed_digest("transformer-prep/drill-review-token/v2", "1|q01|0|-|0", secret=b"x" * 32)
    shown = drill.next_card(session=session, user_id=USER, now=T0)
    assert shown.question_id == "q01" and len(shown.review_token) == len("1.q01.0.") + 32
    for forged in (f"1.q01.0.{public[:16]}", f"1.q01.0.{public[:32]}", f"1.q01.0.{other_secret[:32]}"):
        assert forged != shown.review_token
        with pytest.raises(ValueError, match="does not match the current state of q01"):
            drill.record_review(session=session, user_id=USER, question_id="q01", rating=4, now=T0, review_token=forged)
    assert _count_session(session, DrillReview) == 0 and _count_session(session, DrillCard) == 0
    # the shown token grades
    assert not drill.record_review(
        session=session, user_id=USER, question_id="q01", rating=4, now=T0, review_token=shown.review_token
    ).replayed


def _count_session(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_mock_review_key_is_not_a_drill_token(session):
    drill.record_review(
        session=session, user_id=USER, question_id="q02", rating=3, now=T0, source="mock", review_token="mock.7"
    )
    with pytest.raises(ValueError, match="is not a drill review token"):
        drill.record_review(session=session, user_id=USER, question_id="q02", rating=1, now=T0, review_token="mock.7")
    with pytest.raises(ValueError, match="does not match the current state"):
        drill.record_review(session=session, user_id=USER, question_id="q03", rating=1, now=T0, review_token="mock.8")
    assert _count_session(session, DrillReview) == 1


def test_every_state_a_card_passes_through_has_its_own_token(session):
    """Review, undo, review again, undo again …: no token ever comes back, and each undone one stays spent."""
    seen: list[str] = []
    now = T0
    for rating in (3, 1, 3, 4, 2):
        shown = drill.card_for_question(session=session, user_id=USER, question_id="q05", now=now, reason="due")
        seen.append(shown.review_token)
        drill.record_review(
            session=session, user_id=USER, question_id="q05", rating=rating, now=now, review_token=shown.review_token
        )
        if rating in (1, 4):
            drill.undo_last_review(session=session, user_id=USER, now=now)
            with pytest.raises(drill.ReviewUndone, match="undone"):
                drill.record_review(
                    session=session, user_id=USER, question_id="q05", rating=3, now=now, review_token=seen[-1]
                )
        now += timedelta(minutes=15)
    seen.append(
        drill.card_for_question(session=session, user_id=USER, question_id="q05", now=now, reason="due").review_token
    )
    assert len(set(seen)) == len(seen)
    assert _count_session(session, DrillReview) == 3 and _count_session(session, DrillReviewUndone) == 2


def test_log_ids_are_never_reused_after_an_undo(session):
    first = _grade(session, "q01", 3, T0)
    second = _grade(session, "q02", 3, T0)
    drill.undo_last_review(session=session, user_id=USER, now=T0, review_id=second.log_id)
    third = _grade(session, "q02", 3, T0)
    assert first.log_id < second.log_id < third.log_id


def test_an_undo_page_with_a_stale_review_answers_409_and_undoes_nothing(client, engine):
    from tests.utils.csrf import with_csrf

    first = client.post("/api/drill/reviews", json={"question_id": "q01", "rating": 3, **_token(client)}).json()[
        "log_id"
    ]
    page = client.get("/drill").text
    assert f'name="review_id" value="{first}"' in page
    assert client.post("/drill/undo", data=with_csrf(review_id=str(first))).status_code in (200, 303)
    again = client.post("/drill/undo", data=with_csrf(review_id=str(first)))
    assert again.status_code == 409
    assert "已经撤销过了" in again.text
    assert _count(engine, DrillReview) == 0


def _token(client) -> dict:
    return {"review_token": client.get("/api/drill/next").json()["review_token"]}


# ---------------------------------------------------------------- races (real threads, file database)


def test_two_undos_of_the_same_review_one_succeeds_the_other_409(file_engine):
    now = T0
    for round_ in range(ROUNDS):
        with Session(file_engine) as s:
            if round_ % 3 == 0:  # keep some history under the raced review
                _grade(s, "q07", 3, now)
            target = _grade(s, f"q{round_ % 5 + 1:02d}", 1 + round_ % 4, now)
        before = _count(file_engine, DrillReview)

        undo = _undo_call(target.log_id, now)

        outcomes = race(undo, undo, engine=file_engine)
        wins = [o for o in outcomes if isinstance(o, drill.UndoResult)]
        losses = [o for o in outcomes if isinstance(o, drill.UndoConflict)]
        assert len(wins) == 1 and len(losses) == 1, outcomes
        assert wins[0].log_id == target.log_id
        assert str(losses[0]).startswith(f"这次评分（{target.question_id}）已经撤销过了")
        assert _count(file_engine, DrillReview) == before - 1
        now += timedelta(minutes=7)
    _assert_consistent(file_engine)


def test_two_undos_without_a_named_review_undo_two_different_rows(file_engine):
    for round_ in range(ROUNDS // 5):
        with Session(file_engine) as s:
            _grade(s, "q01", 3, T0 + timedelta(hours=round_))
            _grade(s, "q02", 3, T0 + timedelta(hours=round_))

        def undo(s: Session) -> drill.UndoResult:
            return drill.undo_last_review(session=s, user_id=USER, now=T0)

        outcomes = race(undo, undo, engine=file_engine)
        assert all(isinstance(o, drill.UndoResult) for o in outcomes), outcomes
        assert {o.question_id for o in outcomes} == {"q01", "q02"}  # each response names the row it removed
        assert _count(file_engine, DrillReview) == 0
    _assert_consistent(file_engine)


def test_undo_racing_a_review_of_the_same_card_leaves_a_consistent_state(file_engine):
    """The review carries the token of the card as the newest review left it; the undo names that review.
    Either the undo wins (the review is refused: the card changed) or the review wins (the undo gets 409)."""
    now = T0
    winners = set()
    for round_ in range(ROUNDS):
        qid = f"q{round_ % 3 + 1:02d}"
        with Session(file_engine) as s:
            newest = _grade(s, qid, 3, now)
            shown = drill.card_for_question(session=s, user_id=USER, question_id=qid, now=now, reason="due")

        undo = _undo_call(newest.log_id, now)
        review = _review_call(qid, shown.review_token, 2, now)

        before = _count(file_engine, DrillReview)
        if round_ % 2:  # vary which thread starts first
            reviewed, undone = race(review, undo, engine=file_engine)
        else:
            undone, reviewed = race(undo, review, engine=file_engine)
        if isinstance(undone, drill.UndoResult):
            assert isinstance(reviewed, ValueError) and "does not match the current state" in str(reviewed)
            assert _count(file_engine, DrillReview) == before - 1
            winners.add("undo")
        else:
            assert isinstance(undone, drill.UndoConflict) and "no longer the newest" in str(undone)
            assert isinstance(reviewed, drill.ReviewResult) and not reviewed.replayed
            assert _count(file_engine, DrillReview) == before + 1
            winners.add("review")
        _assert_consistent(file_engine, round_trip=False)
        now += timedelta(minutes=11)
    _assert_consistent(file_engine)
    assert winners  # which one wins is up to the scheduler; the state is consistent either way


def test_a_late_replay_racing_the_undo_of_its_review_is_never_recorded_twice(file_engine):
    now = T0
    for round_ in range(ROUNDS // 2):
        qid = f"q{round_ % 4 + 10:02d}"
        with Session(file_engine) as s:
            shown = drill.card_for_question(session=s, user_id=USER, question_id=qid, now=now, reason="due")
            graded = drill.record_review(
                session=s, user_id=USER, question_id=qid, rating=3, now=now, review_token=shown.review_token
            )

        undo = _undo_call(graded.log_id, now)
        replay = _review_call(qid, shown.review_token, 3, now)

        before = _count(file_engine, DrillReview)
        undone, replayed = race(undo, replay, engine=file_engine)
        assert isinstance(undone, drill.UndoResult)
        # before the undo: the recorded result (nothing written); after it: 409 "undone"
        assert (isinstance(replayed, drill.ReviewResult) and replayed.replayed) or isinstance(
            replayed, drill.ReviewUndone
        ), replayed
        assert _count(file_engine, DrillReview) == before - 1
        now += timedelta(minutes=3)
    _assert_consistent(file_engine)


def test_conditional_writes_alone_keep_undo_races_consistent(file_engine, monkeypatch):
    """Without the up-front write lock (a caller already inside a transaction), the conditional writes still
    decide: one undo wins, the other 409, and a review racing an undo never leaves a card without its log."""
    from contextlib import contextmanager

    @contextmanager
    def no_lock(session):
        try:
            yield
        except BaseException:
            session.rollback()
            raise

    monkeypatch.setattr(drill, "_write_transaction", no_lock)
    now = T0
    for round_ in range(ROUNDS // 2):
        qid = f"q{round_ % 3 + 20:02d}"
        with Session(file_engine) as s:
            target = _grade(s, qid, 3, now)
            shown = drill.card_for_question(session=s, user_id=USER, question_id=qid, now=now, reason="due")

        undo = _undo_call(target.log_id, now)
        review = _review_call(qid, shown.review_token, 4, now)

        outcomes = race(undo, undo, review, engine=file_engine)
        assert sum(isinstance(o, drill.UndoResult) for o in outcomes[:2]) <= 1
        assert all(
            isinstance(o, drill.UndoResult | drill.ReviewResult | drill.DrillConflict | ValueError) for o in outcomes
        )
        _assert_consistent(file_engine, round_trip=False)
        now += timedelta(minutes=13)
    _assert_consistent(file_engine)


# ---------------------------------------------------------------- migration


def _history_rows() -> tuple[list[dict], list[dict]]:
    """A learner's cards and log as the app writes them (built at head; the two tables are unchanged since 0002)."""
    engine = make_engine("sqlite://")
    prepare_database(engine)
    with Session(engine) as s:
        for minutes in (0, 10, 20):
            _grade(s, "q01", 3, T0 + timedelta(minutes=minutes))
        drill.record_review(session=s, user_id=USER, question_id="q02", rating=3, now=T0, source="mock")
    with engine.connect() as c:
        cards = [dict(r._mapping) for r in c.execute(text("SELECT * FROM drill_card ORDER BY id"))]
        reviews = [dict(r._mapping) for r in c.execute(text("SELECT * FROM drill_review ORDER BY id"))]
    engine.dispose()
    return cards, reviews


def _insert(c, table: str, row: dict) -> None:
    names = ", ".join(row)
    c.execute(text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row)


def test_upgrade_from_0002_keeps_the_log_and_never_reuses_an_id(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    cards, reviews = _history_rows()
    assert [r["id"] for r in reviews] == [1, 2, 3, 4]
    with engine.begin() as c:
        _insert(c, "user", {"id": 1, "name": "学习者", "created_at": "2026-11-01 00:00:00"})
        for row in cards:
            _insert(c, "drill_card", row)
        for row in reviews:
            _insert(c, "drill_review", row)
        # Row 4 (q02's mock review) was deleted since (an import), but a mock item still points at it.
        c.execute(text("DELETE FROM drill_review WHERE id = 4"))
        c.execute(text("DELETE FROM drill_card WHERE question_id = 'q02'"))
        for sid in (1, 2, 3):
            _insert(c, "mock_session", {
                "id": sid, "user_id": 1, "created_at": "2026-11-02 09:00:00", "status": "finished",
                "requested_count": 1, "count": 1, "selection": "random", "hard_stop": 0, "practice": 0, "seed": sid,
            })  # fmt: skip
        # Items of sessions 1 and 2 were both linked to review 3 (two confirms of one card state merged).
        for sid, question, log_id, rated_at in ((1, "q02", 4, "09:05"), (2, "q01", 3, "09:20"), (3, "q01", 3, "09:30")):
            _insert(c, "mock_question", {
                "mock_session_id": sid, "user_id": 1, "position": 0, "question_id": question, "seconds_allowed": 180,
                "dont_know": 0, "overtime": 0, "late_unscored": 0, "hint_used": 0, "rated_automatically": 0,
                "rating": 2, "rated_at": f"2026-11-02 {rated_at}:00", "review_log_id": log_id,
            })  # fmt: skip
        before = c.execute(text("SELECT id, review_token, card_after FROM drill_review ORDER BY id")).all()

    prepare_database(engine)  # the upgrade runs through the start-up path

    with engine.begin() as c:
        assert c.execute(text("SELECT id, review_token, card_after FROM drill_review ORDER BY id")).all() == before
        schema = c.execute(text("SELECT sql FROM sqlite_master WHERE name = 'drill_review'")).scalar_one()
        assert "AUTOINCREMENT" in schema
        head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
        links = c.execute(text("SELECT mock_session_id, review_log_id FROM mock_question ORDER BY id")).all()
        assert links == [(1, 4), (2, 3), (3, None)]  # the later of the merged pair lost the row it did not write
    with Session(engine) as s:
        # undo works on the migrated log, and new ids start above every id ever referenced (4)
        undone = drill.undo_last_review(session=s, user_id=USER, now=T0, review_id=3)
        assert undone.question_id == "q01"
        fresh = _grade(s, "q03", 3, T0 + timedelta(hours=1))
        assert fresh.log_id == 5
        # the unlinked item's own rating is recorded as its own review the next time its session is opened
        from app.services import mock

        mock.finish(session=s, user_id=USER, mock_id=3, now=T0 + timedelta(hours=2))
        item = s.exec(select(mock.MockQuestion).where(mock.MockQuestion.mock_session_id == 3)).one()
        own = s.get(DrillReview, item.review_log_id)
        assert (own.id, own.question_id, own.rating, own.source, own.review_token) == (6, "q01", 2, "mock", "mock.3")
        assert drill.card_states(session=s, user_id=USER, now=T0)["q01"].reps == 3
    engine.dispose()


# ---------------------------------------------------------------- the same races over HTTP


@pytest.fixture
def file_client(file_engine, clock):
    """The app over the file database, so concurrent requests really run on separate connections."""
    with app_client(file_engine, clock) as c:
        yield c


def test_two_undo_requests_for_one_review_answer_200_and_409(file_client, file_engine):
    from tests.utils.csrf import JSON

    assert file_client.put("/api/settings", json={"new_per_day": 100}).status_code == 200
    for _round in range(12):  # each round: a new card graded, two undos of its review at once, a late replay
        card = file_client.get("/api/drill/next").json()
        graded = file_client.post(
            "/api/drill/reviews",
            json={"question_id": card["question_id"], "rating": 1, "review_token": card["review_token"]},
        )
        assert graded.status_code == 201
        review_id = graded.json()["log_id"]
        before = _count(file_engine, DrillReview)

        def undo(_s: Session, review_id=review_id):
            return file_client.post(f"/api/drill/undo?review_id={review_id}", headers=JSON)

        responses = race(undo, undo, engine=file_engine)
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 409).json()["detail"]
        assert refused.startswith(f"这次评分（{card['question_id']}）已经撤销过了")
        assert _count(file_engine, DrillReview) == before - 1
        # the undone request replayed late: 409 "undone", not recorded again
        late = file_client.post(
            "/api/drill/reviews",
            json={"question_id": card["question_id"], "rating": 1, "review_token": card["review_token"]},
        )
        assert late.status_code == 409 and "已撤销" in late.json()["detail"]
        file_client.post(  # move on: grade it again so the next round starts from a fresh card state
            "/api/drill/reviews",
            json={"question_id": card["question_id"], "rating": 3, **_next_token(file_client, card["question_id"])},
        )
    _assert_consistent(file_engine)


def _next_token(client, question_id: str) -> dict:
    shown = client.get("/api/drill/next").json()
    assert shown["question_id"] == question_id  # the undone card is shown again first
    return {"review_token": shown["review_token"]}
