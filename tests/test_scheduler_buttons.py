"""Grade-button intervals: Easy is always above Good (as in Anki) unless the interview date caps both,
and then the buttons say so. Property-style over generated card states (hypothesis, derandomized)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from fsrs import Card, Rating, Scheduler, State
from hypothesis import given, settings
from hypothesis import strategies as st

from app import scheduler as sched

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BEIJING = ZoneInfo("Asia/Shanghai")
CHECKS = settings(max_examples=400, deadline=None, derandomize=True)


def _relearning_q08() -> tuple[Card, datetime]:
    """The review's q08: learned with Good, Good; forgotten three days later (Again); due again 10 minutes on."""
    card = sched.new_card(question_id="q08", now=T0)
    card = sched.apply_rating(card=card, rating=3, now=T0).card
    card = sched.apply_rating(card=card, rating=3, now=T0 + timedelta(minutes=10)).card
    lapse = card.due + timedelta(days=3)
    card = sched.apply_rating(card=card, rating=1, now=lapse).card
    assert card.state == State.Relearning
    return card, lapse + timedelta(minutes=10)


def test_relearning_card_no_longer_shows_good_and_easy_alike():
    card, now = _relearning_q08()
    # what fsrs alone gives: both round to the 1-day minimum (the bug in the UX review)
    raw = Scheduler(enable_fuzzing=False)
    assert raw.review_card(card, Rating.Good, now)[0].due == raw.review_card(card, Rating.Easy, now)[0].due
    shown = sched.preview(card=card, now=now)
    assert [shown[r].label for r in Rating] == ["10分钟", "15分钟", "1天", "2天"]
    # only the due date moved: the memory state is fsrs's own
    assert shown[Rating.Easy].card.stability == raw.review_card(card, Rating.Easy, now)[0].stability


def test_learning_card_graduating_on_easy_is_above_good():
    shown = sched.preview(card=sched.new_card(question_id="q10", now=T0), now=T0)
    assert shown[Rating.Good].label == "10分钟"
    assert shown[Rating.Easy].interval > shown[Rating.Good].interval


def test_interview_cap_that_makes_buttons_equal_is_named_on_them():
    card = Card(card_id=3, state=State.Review, stability=40.0, difficulty=5.0, due=T0)
    card.last_review = T0 - timedelta(days=30)
    interview = (T0 + timedelta(days=8)).date()  # final window starts in 5 days
    shown = sched.preview(card=card, now=T0, interview_date=interview)
    assert shown[Rating.Good].capped and shown[Rating.Easy].capped
    assert shown[Rating.Good].label == shown[Rating.Easy].label == "5天（面试日封顶）"
    assert shown[Rating.Again].label == "10分钟"


def test_alike_coarse_labels_are_refined_to_days():
    def outcome(rating: Rating, days: float, capped: bool = False) -> sched.Outcome:
        return sched.Outcome(
            rating=rating, card=Card(card_id=1, due=T0 + timedelta(days=days)), capped=capped, reviewed_at=T0
        )

    labels = sched.button_labels(
        {Rating.Again: outcome(Rating.Again, 0.007), Rating.Hard: outcome(Rating.Hard, 30),
         Rating.Good: outcome(Rating.Good, 45), Rating.Easy: outcome(Rating.Easy, 46)}
    )  # fmt: skip
    assert sched.interval_label(timedelta(days=45)) == sched.interval_label(timedelta(days=46)) == "1.5个月"
    assert labels == {Rating.Again: "10分钟", Rating.Hard: "30天", Rating.Good: "45天", Rating.Easy: "46天"}
    # a capped Easy landing next to an uncapped Good of the same day count says why
    labels = sched.button_labels({Rating.Good: outcome(Rating.Good, 10), Rating.Easy: outcome(Rating.Easy, 10.2, True)})
    assert labels == {Rating.Good: "10天", Rating.Easy: "10天（面试日封顶）"}


# ---------------------------------------------------------------- property: over generated card states

ratings = st.integers(min_value=1, max_value=4)
gaps = st.sampled_from([0, 1, 5, 10, 30, 60 * 6, 60 * 24, 60 * 24 * 3, 60 * 24 * 10, 60 * 24 * 45, 60 * 24 * 200])


@st.composite
def card_states(draw: st.DrawFn) -> tuple[Card, datetime]:
    """A card and the moment it is shown: new, after a history of ratings (learning, review, relearning),
    or a Review/Relearning card with an arbitrary memory state."""
    kind = draw(st.sampled_from(["new", "history", "memory"]))
    if kind == "new":
        return sched.new_card(question_id="q01", now=T0), T0
    if kind == "history":
        card, now = sched.new_card(question_id="q01", now=T0), T0
        for rating, gap in draw(st.lists(st.tuples(ratings, gaps), min_size=1, max_size=8)):
            now += timedelta(minutes=gap)
            card = sched.apply_rating(card=card, rating=rating, now=now).card
        return card, now + timedelta(minutes=draw(gaps))
    state = draw(st.sampled_from([State.Review, State.Relearning]))
    card = Card(
        card_id=1,
        state=state,
        step=0 if state == State.Relearning else None,
        stability=draw(st.floats(min_value=0.1, max_value=2000, allow_nan=False)),
        difficulty=draw(st.floats(min_value=1, max_value=10, allow_nan=False)),
        due=T0,
    )
    card.last_review = T0 - timedelta(days=draw(st.floats(min_value=0.01, max_value=400)))
    return card, T0 + timedelta(minutes=draw(gaps))


retentions = st.sampled_from([0.7, 0.8, 0.9, 0.95, 0.97])


@CHECKS
@given(state=card_states(), retention=retentions)
def test_easy_is_strictly_above_good_without_an_interview_date(state, retention):
    card, now = state
    shown = sched.preview(card=card, now=now, desired_retention=retention)
    good, easy = shown[Rating.Good], shown[Rating.Easy]
    assert easy.interval > good.interval
    assert easy.label != good.label
    assert sched.CAP_NOTE not in easy.label + good.label
    if good.card.state == State.Review:
        assert easy.interval >= good.interval + timedelta(days=1)
    hard = shown[Rating.Hard]
    if hard.card.state == State.Review:
        assert good.interval > hard.interval


@CHECKS
@given(
    state=card_states(),
    retention=retentions,
    days_ahead=st.integers(min_value=-5, max_value=400),
    tz=st.sampled_from([UTC, BEIJING]),
)
def test_buttons_read_alike_only_when_the_cap_says_so(state, retention, days_ahead, tz):
    card, now = state
    interview: date = (now + timedelta(days=days_ahead)).date()
    shown = sched.preview(card=card, now=now, desired_retention=retention, interview_date=interview, tz=tz)
    good, easy = shown[Rating.Good], shown[Rating.Easy]
    assert easy.interval >= good.interval
    if easy.label == good.label:
        assert easy.capped and good.capped and easy.label.endswith(sched.CAP_NOTE)
    elif not easy.capped:
        assert easy.interval > good.interval
    for rating, outcome in shown.items():
        # the button shows exactly what grading does
        applied = sched.apply_rating(
            card=card, rating=rating, now=now, desired_retention=retention, interview_date=interview, tz=tz
        )
        assert applied.card.to_dict() == outcome.card.to_dict()
        assert applied.capped == outcome.capped
        cap = sched.interview_cap(interview_date=interview, reviewed_at=now, tz=tz)
        if cap is not None:
            assert outcome.card.due <= cap


# ---------------------------------------------------------------- what the drill shows


def test_drill_buttons_name_the_cap_when_it_makes_them_equal(client, clock):
    from tests.utils.csrf import JSON, hx, with_csrf

    card = client.get("/api/drill/next").json()
    client.post(
        "/api/drill/reviews",
        json={"question_id": card["question_id"], "rating": 4, "review_token": card["review_token"]},
        headers=JSON,
    )
    clock.set(clock.now() + timedelta(days=8))
    interview = (clock.now() + timedelta(days=5)).date().isoformat()  # the final window starts in 2 days
    assert client.put("/api/settings", json={"interview_date": interview}, headers=JSON).status_code == 200
    shown = client.get("/api/drill/next").json()
    assert shown["question_id"] == card["question_id"]
    labels, capped = shown["interval_labels"], shown["interval_capped"]
    assert capped["good"] and capped["easy"]
    assert labels["good"] == labels["easy"] and labels["easy"].endswith("（面试日封顶）")
    back = client.post(
        "/drill/reveal",
        data=with_csrf(question_id=shown["question_id"], review_token=shown["review_token"]),
        headers=hx(),
    ).text
    buttons = re.findall(r'<span class="grade-interval">(.*?)</span>\s*<kbd>', back)
    assert len(buttons) == 4
    assert buttons[2] == buttons[3] == labels["easy"]  # Good and Easy, no extra "*" on a named cap
