"""app.services.drill: reviews, tokens, undo, the queue, leeches, the interview date, concurrency."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Rating, Scheduler
from sqlmodel import Session, func, select

from app import cards
from app import scheduler as sched
from app.db import make_engine
from app.main import prepare_database
from app.models import DrillCard, DrillReview
from app.services import drill

USER = 1
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _log_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(DrillReview)).one()


def _grade(session, qid, rating, now, **kw):
    item = drill.card_for_question(session=session, user_id=USER, question_id=qid, now=now, reason="due")
    return drill.record_review(
        session=session, user_id=USER, question_id=qid, rating=rating, now=now, review_token=item.review_token, **kw
    )


def _settings(session, **changes):
    current = drill.get_settings(session=session, user_id=USER)
    values = {**current.to_dict(), **changes}
    values["interview_date"] = drill.parse_iso_date(values["interview_date"])
    drill.save_settings(session=session, user_id=USER, settings=drill.DrillSettingsView(**values), now=T0)


def test_card_states_lists_every_card_new_at_first_guide_then_modern_then_code(session):
    states = drill.card_states(session=session, user_id=USER, now=T0)
    ids = list(states)
    assert ids == list(cards.all_card_ids())
    assert ids[:30] == [f"q{n:02d}" for n in range(1, 31)]
    assert [states[q].track for q in ids] == sorted((states[q].track for q in ids), key=cards.TRACKS.index)
    assert all(v.state == "new" and v.due is None and v.retrievability is None for v in states.values())
    guide = drill.card_states(session=session, user_id=USER, now=T0, tracks=("guide",))
    assert list(guide) == [f"q{n:02d}" for n in range(1, 31)]


def test_recorded_reviews_equal_fsrs_directly(session):
    reference = Scheduler(enable_fuzzing=False)
    card = sched.new_card(question_id="q03", now=T0)
    moment = T0
    for rating, gap in [(3, 0), (3, 10), (1, 60 * 24 * 4), (3, 10), (4, 60 * 24 * 6)]:
        moment += timedelta(minutes=gap)
        card, _ = reference.review_card(card, Rating(rating), review_datetime=moment)
        result = _grade(session, "q03", rating, moment, duration_ms=1500)
        assert result.due == card.due
    row = session.exec(select(DrillCard).where(DrillCard.question_id == "q03")).one()
    assert (row.state, row.stability, row.difficulty, row.due, row.last_review) == (
        int(card.state),
        card.stability,
        card.difficulty,
        card.due,
        card.last_review,
    )
    assert row.reps == 5 and row.fails == 1
    logs = session.exec(select(DrillReview).order_by(DrillReview.id)).all()
    assert [log.rating for log in logs] == [3, 3, 1, 3, 4]
    assert [log.state_before for log in logs] == [0, 1, 2, 3, 2]
    assert all(log.duration_ms == 1500 and log.reviewed_at.tzinfo is UTC for log in logs)


def test_shown_intervals_are_the_applied_ones(session):
    _grade(session, "q01", 3, T0)
    now = T0 + timedelta(minutes=11)
    for rating in (1, 2, 3, 4):
        item = drill.next_card(session=session, user_id=USER, now=now)
        assert item.question_id == "q01"
        shown = item.outcomes[rating].card.due
        result = drill.record_review(
            session=session, user_id=USER, question_id="q01", rating=rating, now=now, review_token=item.review_token
        )
        assert result.due == shown
        drill.undo_last_review(session=session, user_id=USER, now=now)


def test_token_replay_writes_nothing_and_returns_the_recorded_result(session):
    item = drill.next_card(session=session, user_id=USER, now=T0)
    first = drill.record_review(
        session=session, user_id=USER, question_id=item.question_id, rating=3, now=T0, review_token=item.review_token
    )
    before = drill.card_states(session=session, user_id=USER, now=T0)
    again = drill.record_review(
        session=session,
        user_id=USER,
        question_id=item.question_id,
        rating=1,
        now=T0 + timedelta(minutes=1),
        review_token=item.review_token,
    )
    assert again.replayed and not first.replayed
    assert (again.log_id, again.rating, again.due) == (first.log_id, 3, first.due)
    assert _log_count(session) == 1
    assert drill.card_states(session=session, user_id=USER, now=T0) == before


@pytest.mark.parametrize("token", ["garbage", "1.q01.0.0000000000000000", "1.q01.7.abc"])
def test_invalid_token_is_refused_and_writes_nothing(session, token):
    with pytest.raises(ValueError, match="does not match the current state of q01"):
        drill.record_review(session=session, user_id=USER, question_id="q01", rating=3, now=T0, review_token=token)
    assert _log_count(session) == 0


def test_token_for_another_card_is_refused(session):
    result = _grade(session, "q01", 3, T0)
    token = session.get(DrillReview, result.log_id).review_token
    with pytest.raises(ValueError, match="belongs to a different card"):
        drill.record_review(session=session, user_id=USER, question_id="q02", rating=3, now=T0, review_token=token)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rating": 0}, "rating must be 1"),
        ({"rating": 5}, "rating must be 1"),
        ({"rating": "3"}, "rating must be 1"),
        ({"rating": True}, "rating must be 1"),
        ({"question_id": "q61"}, "unknown question_id"),
        ({"question_id": "c00"}, "unknown question_id"),
        ({"duration_ms": -1}, "duration_ms must be"),
        ({"source": "cli"}, "source must be one of"),
    ],
)
def test_bad_review_input_raises_and_writes_nothing(session, kwargs, message):
    args = {"question_id": "q01", "rating": 3, "now": T0, **kwargs}
    with pytest.raises(ValueError, match=message):
        drill.record_review(session=session, user_id=USER, **args)
    assert _log_count(session) == 0


def test_undo_restores_exactly_and_removes_only_the_newest_row(session):
    _grade(session, "q01", 3, T0)
    _grade(session, "q01", 3, T0 + timedelta(minutes=10))
    before_row = session.exec(select(DrillCard).where(DrillCard.question_id == "q01")).one()
    snapshot = {k: getattr(before_row, k) for k in ("state", "step", "stability", "difficulty", "due", "last_review")}
    snapshot |= {"reps": before_row.reps, "fails": before_row.fails}
    ids_before = session.exec(select(DrillReview.id)).all()
    token_before = drill.card_for_question(session=session, user_id=USER, question_id="q01", now=T0, reason="due")

    _grade(session, "q01", 1, T0 + timedelta(days=3))
    undone = drill.undo_last_review(session=session, user_id=USER, now=T0 + timedelta(days=3))
    assert undone.question_id == "q01" and undone.rating == 1
    session.expire_all()
    row = session.exec(select(DrillCard).where(DrillCard.question_id == "q01")).one()
    assert {k: getattr(row, k) for k in snapshot} == snapshot
    assert session.exec(select(DrillReview.id)).all() == ids_before
    # The restored card gets a new token; the undone review's token stays spent.
    again = drill.card_for_question(session=session, user_id=USER, question_id="q01", now=T0, reason="due")
    assert again.review_token != token_before.review_token
    with pytest.raises(drill.ReviewUndone, match="已撤销"):
        drill.record_review(
            session=session, user_id=USER, question_id="q01", rating=3, now=T0, review_token=token_before.review_token
        )
    assert session.exec(select(DrillReview.id)).all() == ids_before


def test_undo_of_a_new_card_makes_it_new_again(session):
    _grade(session, "q01", 3, T0)
    drill.undo_last_review(session=session, user_id=USER, now=T0)
    assert drill.card_states(session=session, user_id=USER, now=T0)["q01"].state == "new"
    assert session.exec(select(DrillCard)).all() == []
    with pytest.raises(ValueError, match="nothing to undo"):
        drill.undo_last_review(session=session, user_id=USER, now=T0)


def test_undo_refuses_a_mock_interview_review(session):
    drill.record_review(session=session, user_id=USER, question_id="q04", rating=2, now=T0, source="mock")
    with pytest.raises(ValueError, match="came from mock"):
        drill.undo_last_review(session=session, user_id=USER, now=T0)
    assert _log_count(session) == 1


def test_queue_new_cards_in_order_up_to_the_daily_limit(session):
    _settings(session, new_per_day=3, tracks=("guide",))
    shown = []
    for _ in range(3):
        item = drill.next_card(session=session, user_id=USER, now=T0)
        assert item.reason == "new"
        shown.append(item.question_id)
        drill.record_review(
            session=session,
            user_id=USER,
            question_id=item.question_id,
            rating=4,
            now=T0,
            review_token=item.review_token,
        )
    assert shown == ["q01", "q02", "q03"]
    empty = drill.next_card(session=session, user_id=USER, now=T0)
    assert isinstance(empty, drill.QueueEmpty)
    assert empty.next_due == datetime(2026, 11, 3, tzinfo=UTC)  # tomorrow's allowance (UTC day)
    assert empty.counts.new_available == 0 and empty.counts.unseen == 27
    tomorrow = drill.next_card(session=session, user_id=USER, now=datetime(2026, 11, 3, 0, 1, tzinfo=UTC))
    assert (tomorrow.question_id, tomorrow.reason) == ("q04", "new")


def test_due_cards_come_first_lowest_retrievability_first(session):
    _settings(session, new_per_day=30)
    for qid in ("q01", "q02", "q03"):
        _grade(session, qid, 4, T0)  # Easy: review state, due in 8 days
    # q02 was reviewed again later, so on day 30 it is the freshest; q01/q03 are equally old
    _grade(session, "q02", 3, T0 + timedelta(days=8))
    now = T0 + timedelta(days=90)
    states = drill.card_states(session=session, user_id=USER, now=now)
    item = drill.next_card(session=session, user_id=USER, now=now)
    assert item.reason == "due"
    assert states[item.question_id].retrievability == min(states[q].retrievability for q in ("q01", "q02", "q03"))
    assert item.question_id != "q02"
    assert item.counts.due_now == 3


def test_learn_ahead_shows_a_learning_card_due_soon_when_nothing_else_is_left(session):
    _settings(session, new_per_day=1)
    _grade(session, "q01", 3, T0)  # learning, due in 10 minutes
    item = drill.next_card(session=session, user_id=USER, now=T0 + timedelta(minutes=1))
    assert (item.question_id, item.reason) == ("q01", "learn_ahead")
    _grade(session, "q01", 3, T0 + timedelta(minutes=1))  # graduates: days away, no learn-ahead
    assert isinstance(drill.next_card(session=session, user_id=USER, now=T0 + timedelta(minutes=2)), drill.QueueEmpty)


def test_leech_after_four_agains(session):
    moment = T0
    for _ in range(4):
        _grade(session, "q07", 1, moment)
        moment += timedelta(minutes=2)
    view = drill.card_states(session=session, user_id=USER, now=moment)["q07"]
    assert view.is_leech and view.lapses == 4
    item = drill.card_for_question(session=session, user_id=USER, question_id="q07", now=moment, reason="due")
    assert item.card.is_leech


def test_interview_date_caps_intervals_through_the_service(session):
    _settings(session, interview_date="2026-11-12")
    result = _grade(session, "q01", 4, T0)  # Easy would be 8 days: 2026-11-10 09:00
    assert result.capped
    assert result.due == datetime(2026, 11, 9, tzinfo=UTC)  # start of the final 3-day window
    item = drill.card_for_question(session=session, user_id=USER, question_id="q02", now=T0, reason="new")
    assert item.outcomes[4].capped and item.outcomes[4].card.due == datetime(2026, 11, 9, tzinfo=UTC)
    assert not item.outcomes[3].capped  # 10 minutes stays 10 minutes


def test_final_pass_shows_each_card_not_reviewed_in_the_last_three_days(session):
    _settings(session, new_per_day=2)
    _grade(session, "q01", 4, T0)
    _grade(session, "q02", 4, T0)
    _settings(session, interview_date="2026-11-10", new_per_day=0)  # set after the reviews: no cap applied
    inside = datetime(2026, 11, 7, 12, tzinfo=UTC)
    assert drill.card_states(session=session, user_id=USER, now=inside)["q01"].due > inside
    seen = []
    for _ in range(2):
        item = drill.next_card(session=session, user_id=USER, now=inside)
        assert item.reason == "final_pass"
        seen.append(item.question_id)
        drill.record_review(
            session=session,
            user_id=USER,
            question_id=item.question_id,
            rating=3,
            now=inside,
            review_token=item.review_token,
        )
    assert sorted(seen) == ["q01", "q02"]
    assert isinstance(drill.next_card(session=session, user_id=USER, now=inside), drill.QueueEmpty)
    # before the window, the same cards are simply not due
    assert isinstance(
        drill.next_card(session=session, user_id=USER, now=datetime(2026, 11, 6, 12, tzinfo=UTC)), drill.QueueEmpty
    )


def test_settings_validation_names_the_field(session):
    with pytest.raises(ValueError, match="desired_retention must be between"):
        drill.validate_settings(desired_retention=0.99, new_per_day=10, interview_date=None)
    with pytest.raises(ValueError, match="new_per_day must be a whole number"):
        drill.validate_settings(desired_retention=0.9, new_per_day=101, interview_date=None)
    with pytest.raises(ValueError, match="interview_date must be an ISO date"):
        drill.parse_iso_date("2026-13-01")
    assert drill.parse_iso_date("2026-12-01") == date(2026, 12, 1)


def test_log_rows_hold_state_before_and_after_for_a_rebuild(session):
    _grade(session, "q09", 3, T0)
    _grade(session, "q09", 3, T0 + timedelta(minutes=10))
    logs = session.exec(select(DrillReview).order_by(DrillReview.id)).all()
    assert logs[0].card_before is None
    assert json.loads(logs[1].card_before) == json.loads(logs[0].card_after) | {"capped": False}
    # rebuilding the card from the log alone gives the stored card
    card = sched.new_card(question_id="q09", now=T0)
    for log in logs:
        card = sched.apply_rating(card=card, rating=log.rating, now=log.reviewed_at).card
    row = session.exec(select(DrillCard)).one()
    assert (card.stability, card.difficulty, card.due) == (row.stability, row.difficulty, row.due)


def test_two_clients_grading_the_same_card_at_once_leave_one_review(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
    prepare_database(engine)
    with Session(engine) as s:
        item = drill.next_card(session=s, user_id=USER, now=T0)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def client(rating: int) -> None:
        try:
            with Session(engine) as s:
                barrier.wait()
                results.append(
                    drill.record_review(
                        session=s,
                        user_id=USER,
                        question_id=item.question_id,
                        rating=rating,
                        now=T0,
                        review_token=item.review_token,
                    )
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(r,)) for r in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(engine) as s:
        assert _log_count(s) == 1
        row = s.exec(select(DrillCard)).one()
        assert row.reps == 1
    assert sum(not r.replayed for r in results) == 1
    assert len({(r.log_id, r.rating) for r in results}) == 1
    engine.dispose()


def test_concurrent_mock_reviews_without_tokens_are_both_applied_in_turn(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'race2.db'}")
    prepare_database(engine)
    with Session(engine) as s:
        drill.record_review(session=s, user_id=USER, question_id="q02", rating=3, now=T0)
    barrier = threading.Barrier(2)

    def client() -> None:
        with Session(engine) as s:
            barrier.wait()
            drill.record_review(session=s, user_id=USER, question_id="q02", rating=3, now=T0, source="mock")

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with Session(engine) as s:
        assert _log_count(s) == 3
        assert s.exec(select(DrillCard)).one().reps == 3
    engine.dispose()


def test_the_new_card_allowance_resets_at_midnight_of_the_study_time_zone(session, monkeypatch):
    from app.config import settings as app_settings

    monkeypatch.setattr(app_settings, "STUDY_TIMEZONE", "Asia/Shanghai")
    _settings(session, new_per_day=1)
    evening = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 23:00 in Beijing
    _grade(session, "q01", 4, evening)
    before_midnight = drill.next_card(session=session, user_id=USER, now=evening + timedelta(minutes=59))
    assert isinstance(before_midnight, drill.QueueEmpty)
    assert before_midnight.next_due == datetime(2026, 11, 2, 16, 0, tzinfo=UTC)  # 00:00 Beijing: tomorrow's card
    after_midnight = drill.next_card(session=session, user_id=USER, now=evening + timedelta(minutes=61))
    assert isinstance(after_midnight, drill.NextCard) and after_midnight.reason == "new"
