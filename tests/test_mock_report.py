"""Tests for the pure mock-interview rules: time limits, question order, follow-up choice, scores, trend."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from app import mock_report as rules

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class Card:
    due: datetime | None
    retrievability: float | None


@dataclass
class FollowUp:
    key_point: int | None


def test_seconds_allowed_defaults_from_difficulty_and_respects_the_setting():
    assert [rules.seconds_allowed(difficulty=d, seconds_per_question=None) for d in (1, 2, 3)] == [120, 180, 300]
    assert rules.seconds_allowed(difficulty=3, seconds_per_question=90) == 90
    with pytest.raises(ValueError, match="difficulty must be 1, 2 or 3, got 4"):
        rules.seconds_allowed(difficulty=4, seconds_per_question=None)


def test_overtime_only_after_the_grace_period():
    assert not rules.is_overtime(seconds_used=120 + rules.GRACE_SECONDS, seconds_allowed=120)
    assert rules.is_overtime(seconds_used=121 + rules.GRACE_SECONDS, seconds_allowed=120)


def test_random_order_is_a_seeded_shuffle_without_repeats():
    ids = [f"q{n:02d}" for n in range(1, 31)]
    a = rules.order_questions(candidates=ids, selection="random", cards={}, recent=set(), now=NOW, rng=random.Random(7))
    b = rules.order_questions(candidates=ids, selection="random", cards={}, recent=set(), now=NOW, rng=random.Random(7))
    c = rules.order_questions(candidates=ids, selection="random", cards={}, recent=set(), now=NOW, rng=random.Random(8))
    assert a == b
    assert a != c
    assert sorted(a) == ids


def test_recent_questions_go_last_whatever_the_selection():
    ids = ["q01", "q02", "q03", "q04"]
    order = rules.order_questions(
        candidates=ids, selection="random", cards={}, recent={"q01", "q02"}, now=NOW, rng=random.Random(1)
    )
    assert set(order[:2]) == {"q03", "q04"}
    assert set(order[2:]) == {"q01", "q02"}


def test_weakest_puts_low_retrievability_first_and_new_cards_after_reviewed_ones():
    cards = {
        "q01": Card(NOW, 0.95),
        "q02": Card(NOW, 0.40),
        "q03": Card(None, None),  # new
        "q04": Card(NOW, 0.70),
    }
    order = rules.order_questions(
        candidates=list(cards), selection="weakest", cards=cards, recent=set(), now=NOW, rng=random.Random(3)
    )
    assert order == ["q02", "q04", "q01", "q03"]


def test_due_puts_overdue_first_then_new_then_not_yet_due():
    cards = {
        "q01": Card(NOW + timedelta(days=3), 0.97),
        "q02": Card(NOW - timedelta(hours=1), 0.88),
        "q03": Card(None, None),
        "q04": Card(NOW - timedelta(days=2), 0.80),
        "q05": Card(NOW + timedelta(days=1), 0.95),
    }
    order = rules.order_questions(
        candidates=list(cards), selection="due", cards=cards, recent=set(), now=NOW, rng=random.Random(3)
    )
    assert order == ["q04", "q02", "q03", "q05", "q01"]


def test_unknown_selection_is_refused():
    with pytest.raises(ValueError, match="selection must be one of"):
        rules.order_questions(
            candidates=["q01"], selection="hardest", cards={}, recent=set(), now=NOW, rng=random.Random()
        )


def test_follow_up_prefers_a_missed_key_point_then_the_heavier_one():
    follow_ups = [FollowUp(0), FollowUp(1), FollowUp(2), FollowUp(None)]
    verdicts = ["covered", "missed", "missed"]
    weights = [3, 1, 2]
    assert rules.choose_follow_up(follow_ups=follow_ups, verdicts=verdicts, weights=weights, rng=random.Random(0)) == 2


def test_follow_up_order_partly_then_general_then_covered():
    follow_ups = [FollowUp(0), FollowUp(None), FollowUp(1)]
    pick = rules.choose_follow_up
    assert pick(follow_ups=follow_ups, verdicts=["covered", "partly"], weights=[1, 1], rng=random.Random(0)) == 2
    assert pick(follow_ups=follow_ups, verdicts=["covered", "covered"], weights=[1, 1], rng=random.Random(0)) == 1


def test_follow_up_ties_are_broken_by_the_rng_deterministically():
    follow_ups = [FollowUp(0), FollowUp(1)]
    picks = {
        rules.choose_follow_up(
            follow_ups=follow_ups, verdicts=["missed", "missed"], weights=[1, 1], rng=random.Random(s)
        )
        for s in range(20)
    }
    assert picks == {0, 1}
    one = rules.choose_follow_up(
        follow_ups=follow_ups, verdicts=["missed", "missed"], weights=[1, 1], rng=random.Random(5)
    )
    two = rules.choose_follow_up(
        follow_ups=follow_ups, verdicts=["missed", "missed"], weights=[1, 1], rng=random.Random(5)
    )
    assert one == two


def test_question_score_is_weighted_coverage_and_the_hint_halves_the_first_key_point():
    verdicts = ["covered", "partly", "missed"]
    weights = [2, 1, 1]
    # (2*1 + 1*0.5 + 0) / 4 = 62.5
    assert rules.question_score(verdicts, weights) == 62.5
    # hint: the first key point earns at most half: (2*0.5 + 0.5) / 4 = 37.5
    assert rules.question_score(verdicts, weights, hint_used=True) == 37.5
    # the hint costs nothing when that key point was missed anyway
    assert rules.question_score(["missed", "covered"], [1, 1], hint_used=True) == 50.0
    with pytest.raises(ValueError, match="unknown verdict 'maybe'"):
        rules.question_score(["maybe"], [1])


def test_rating_for_score_uses_the_checker_thresholds():
    assert [rules.rating_for_score(s) for s in (0, 39.9, 40, 69.9, 70, 89.9, 90, 100)] == [1, 1, 2, 2, 3, 3, 4, 4]


def test_session_score_is_the_mean_and_unanswered_counts_zero():
    assert rules.session_score([100.0, 50.0, None]) == 50.0
    assert rules.session_score([]) == 0.0
    assert rules.session_score([62.5, 37.5]) == 50.0


def test_category_breakdown_groups_and_averages():
    qs = [
        rules.ScoredQuestion("q01", "basics", True, 80.0, 60.0),
        rules.ScoredQuestion("q02", "basics", False, None, None),
        rules.ScoredQuestion("q21", "implementation", True, 50.0, 50.0),
    ]
    assert rules.category_breakdown(qs) == [
        {"category": "basics", "count": 2, "answered": 1, "score": 40.0, "auto_score": 30.0},
        {"category": "implementation", "count": 1, "answered": 1, "score": 50.0, "auto_score": 50.0},
    ]


def test_weakest_key_points_sorted_by_lost_weight():
    outcomes = [
        rules.KeyPointOutcome("q01", 0, "a", 1, "missed"),  # loses 1
        rules.KeyPointOutcome("q01", 1, "b", 3, "partly"),  # loses 1.5
        rules.KeyPointOutcome("q02", 0, "c", 3, "covered"),  # loses 0: not listed
        rules.KeyPointOutcome("q02", 1, "d", 2, "missed"),  # loses 2
    ]
    assert [o.label for o in rules.weakest_key_points(outcomes)] == ["d", "b", "a"]
    assert [o.label for o in rules.weakest_key_points(outcomes, limit=1)] == ["d"]


def test_trend_chart_geometry():
    points = [
        rules.TrendPoint(1, "11-01 09:00", 0.0, {"basics": 50.0}),
        rules.TrendPoint(2, "11-02 09:00", 100.0, {"depth": 25.0}),
    ]
    chart = rules.trend_chart(
        points, series_order=["basics", "depth", "implementation"], width=200, height=120, pad_right=12
    )
    # inner box: x 36..188, y 12..92
    assert chart["x_ticks"] == [(36.0, "11-01 09:00"), (188.0, "11-02 09:00")]
    assert chart["y_ticks"][0] == (92.0, 0) and chart["y_ticks"][-1] == (12.0, 100)
    series = {s["key"]: s for s in chart["series"]}
    assert list(series) == ["overall", "basics", "depth"]  # a category never asked draws nothing
    assert series["overall"]["points"] == "36.0,92.0 188.0,12.0"
    assert series["basics"]["dots"] == [(36.0, 52.0, 50.0)]
    assert series["depth"]["dots"] == [(188.0, 72.0, 25.0)]


def test_labelled_segments_keep_the_text_and_name_the_key_points():
    text = "softmax 之前 scale"
    spans = [[[0, 7]], [[0, 7], [11, 16]], []]
    pieces = rules.labelled_segments(text, spans)
    assert "".join(p for p, _ in pieces) == text
    assert pieces == [("softmax", [0, 1]), (" 之前 ", []), ("scale", [1])]
    with pytest.raises(ValueError, match="outside the text"):
        rules.labelled_segments("abc", [[[1, 9]]])


def test_format_duration():
    assert [rules.format_duration(s) for s in (0, 59, 60, 125, -7, None)] == [
        "0:00",
        "0:59",
        "1:00",
        "2:05",
        "-0:07",
        "—",
    ]
