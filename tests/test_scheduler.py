"""app.scheduler: the fsrs wrapper gives exactly what fsrs gives, plus the interview-date cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Card, Rating, Scheduler, State

from app import scheduler as sched

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# (rating, minutes after the previous review)
SEQUENCE = [(3, 0), (3, 10), (1, 60 * 24 * 3), (3, 10), (2, 60 * 24 * 2), (4, 60 * 24 * 9), (3, 60 * 24 * 30)]


def _walk(scheduler_review, card):
    moment = T0
    for rating, minutes in SEQUENCE:
        moment += timedelta(minutes=minutes)
        card = scheduler_review(card, rating, moment)
    return card


def test_sequence_of_ratings_matches_fsrs_directly():
    reference = Scheduler(desired_retention=0.9, enable_fuzzing=False)
    direct = _walk(lambda c, r, t: reference.review_card(c, Rating(r), review_datetime=t)[0], Card(card_id=1, due=T0))
    ours = _walk(
        lambda c, r, t: sched.apply_rating(card=c, rating=r, now=t).card, sched.new_card(question_id="q01", now=T0)
    )
    assert ours.to_dict() == direct.to_dict()
    assert ours.state == State.Review


@pytest.mark.parametrize("retention", [0.7, 0.85, 0.97])
def test_desired_retention_is_passed_to_fsrs(retention):
    reference = Scheduler(desired_retention=retention, enable_fuzzing=False)
    direct = _walk(lambda c, r, t: reference.review_card(c, Rating(r), review_datetime=t)[0], Card(card_id=1, due=T0))
    ours = _walk(
        lambda c, r, t: sched.apply_rating(card=c, rating=r, now=t, desired_retention=retention).card,
        sched.new_card(question_id="q01", now=T0),
    )
    assert ours.to_dict() == direct.to_dict()


def test_higher_retention_gives_shorter_intervals():
    card = sched.apply_rating(card=sched.new_card(question_id="q01", now=T0), rating=4, now=T0).card
    later = T0 + timedelta(days=8)
    low = sched.apply_rating(card=card, rating=3, now=later, desired_retention=0.7).interval
    high = sched.apply_rating(card=card, rating=3, now=later, desired_retention=0.97).interval
    assert high < low


def test_preview_equals_apply_for_every_rating():
    card = sched.apply_rating(card=sched.new_card(question_id="q05", now=T0), rating=3, now=T0).card
    now = T0 + timedelta(minutes=12)
    shown = sched.preview(card=card, now=now)
    for rating in Rating:
        applied = sched.apply_rating(card=card, rating=rating, now=now)
        assert shown[rating].card.to_dict() == applied.card.to_dict()
        assert shown[rating].label == applied.label


def test_new_card_button_labels():
    shown = sched.preview(card=sched.new_card(question_id="q01", now=T0), now=T0)
    assert [shown[r].label for r in Rating] == ["1分钟", "6分钟", "10分钟", "8天"]


def test_fuzzing_is_off():
    assert sched.make_scheduler(0.9).enable_fuzzing is False


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (timedelta(seconds=20), "1分钟"),
        (timedelta(minutes=10), "10分钟"),
        (timedelta(hours=3), "3小时"),
        (timedelta(days=2), "2天"),
        (timedelta(days=11), "11天"),
        (timedelta(days=45), "1.5个月"),
        (timedelta(days=730), "2年"),
    ],
)
def test_interval_label(delta, label):
    assert sched.interval_label(delta) == label


@pytest.mark.parametrize("bad", [0.5, 0.98, 1.0])
def test_desired_retention_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="desired_retention must be between 0.7 and 0.97"):
        sched.make_scheduler(bad)


def test_bad_rating_is_refused():
    with pytest.raises(ValueError, match="rating must be 1 \\(Again\\)"):
        sched.apply_rating(card=sched.new_card(question_id="q01", now=T0), rating=5, now=T0)


def test_interview_cap_moves_due_to_the_final_window_only():
    card = sched.apply_rating(card=sched.new_card(question_id="q01", now=T0), rating=4, now=T0).card
    now = T0 + timedelta(days=8)
    free = sched.apply_rating(card=card, rating=3, now=now)
    assert free.interval > timedelta(days=10)
    interview = (now + timedelta(days=10)).date()
    capped = sched.apply_rating(card=card, rating=3, now=now, interview_date=interview)
    window = datetime(interview.year, interview.month, interview.day, tzinfo=UTC) - timedelta(days=3)
    assert capped.capped and capped.card.due == window
    # the memory state is FSRS's own; only the due date moved
    assert capped.card.stability == free.card.stability
    assert capped.card.difficulty == free.card.difficulty
    # a short interval that already ends before the window is left alone
    again = sched.apply_rating(card=card, rating=1, now=now, interview_date=interview)
    assert not again.capped
    assert again.card.due == sched.apply_rating(card=card, rating=1, now=now).card.due


def test_no_cap_inside_the_final_window():
    card = sched.apply_rating(card=sched.new_card(question_id="q01", now=T0), rating=4, now=T0).card
    interview = date(2026, 11, 12)
    inside = datetime(2026, 11, 10, 8, tzinfo=UTC)
    outcome = sched.apply_rating(card=card, rating=3, now=inside, interview_date=interview)
    assert not outcome.capped
    assert outcome.card.due > datetime(2026, 11, 12, tzinfo=UTC)


def test_retrievability_is_fsrs_and_new_is_zero():
    card = sched.apply_rating(card=sched.new_card(question_id="q01", now=T0), rating=4, now=T0).card
    at = T0 + timedelta(days=20)
    assert sched.retrievability(card, at=at) == pytest.approx(
        Scheduler(enable_fuzzing=False).get_card_retrievability(card, current_datetime=at)
    )
    assert 0 < sched.retrievability(card, at=at) < 1
    assert sched.retrievability(None, at=at) == 0.0


def test_card_json_round_trip_keeps_utc():
    card = sched.apply_rating(card=sched.new_card(question_id="q07", now=T0), rating=3, now=T0).card
    back = sched.card_from_json(sched.card_to_json(card))
    assert back.to_dict() == card.to_dict()
    assert back.due.tzinfo is UTC


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        sched.utc(datetime(2026, 1, 1))


# ---------------------------------------------------------------- study time zone (days are the learner's days)

BEIJING = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")


def test_day_boundaries_follow_the_study_time_zone():
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 07:30 on the 27th in Beijing
    assert sched.local_date(late, BEIJING) == date(2026, 11, 27)
    assert sched.day_start(late, BEIJING) == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert sched.day_start(late) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)  # UTC when no zone is given
    assert sched.date_start(date(2026, 12, 10), BEIJING) == datetime(2026, 12, 9, 16, 0, tzinfo=UTC)
    assert sched.final_window_start(date(2026, 12, 10), BEIJING) == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


def test_interview_cap_uses_the_local_start_of_the_final_window():
    card = Card(card_id=1, state=State.Review, stability=60.0, difficulty=5.0, due=datetime(2026, 11, 1, tzinfo=UTC))
    card.last_review = datetime(2026, 10, 1, tzinfo=UTC)
    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    local = sched.apply_rating(card=card, rating=Rating.Good, now=now, interview_date=date(2026, 12, 10), tz=BEIJING)
    utc_day = sched.apply_rating(card=card, rating=Rating.Good, now=now, interview_date=date(2026, 12, 10))
    assert local.capped and local.card.due == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert utc_day.capped and utc_day.card.due == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
