"""Factory for valid drill export files of any size, built with the app's own scheduler (no HTTP round trips).

The file is what `GET /api/export` would produce after the same reviews: one chained review log per question
(each `card_before` is the previous `card_after`), cards equal to their newest snapshot, unique review tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fsrs import Card

from app import scheduler as sched

RATINGS = (3, 1, 4, 3, 2, 3, 3, 1)  # a learner's mix: mostly Good, some Again, Hard and Easy


def _snapshot(card: Card, *, reps: int, fails: int, capped: bool = False) -> dict:
    return {**card.to_dict(), "reps": reps, "fails": fails, "capped": capped}


def export_file(
    *,
    reviews: int,
    questions: int = 30,
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC),
    step: timedelta = timedelta(hours=1),
    exported_at: datetime | None = None,
) -> dict:
    """A valid export holding `reviews` reviews spread round-robin over the first `questions` questions."""
    cards: dict[str, tuple[Card, int, int]] = {}
    log = []
    now = start
    for i in range(reviews):
        qid = f"q{i % questions + 1:02d}"
        rating = RATINGS[(i // questions + i % questions) % len(RATINGS)]  # each question its own sequence
        before, reps, fails = cards.get(qid) or (sched.new_card(question_id=qid, now=now), 0, 0)
        outcome = sched.apply_rating(card=before, rating=rating, now=now)
        after, new_reps, new_fails = outcome.card, reps + 1, fails + (rating == 1)
        log.append(
            {
                "question_id": qid,
                "rating": rating,
                "reviewed_at": now.isoformat(),
                "duration_ms": 1000 + i % 50_000,
                "source": "drill" if i % 7 else "mock",
                "review_token": f"1.{qid}.{reps}.{i:016x}",
                "state_before": int(before.state) if reps else 0,
                "state_after": int(after.state),
                "card_before": _snapshot(before, reps=reps, fails=fails) if reps else None,
                "card_after": _snapshot(after, reps=new_reps, fails=new_fails, capped=outcome.capped),
            }
        )
        cards[qid] = (after, new_reps, new_fails)
        now += step
    return {
        "format": "transformer-prep/drill-export",
        "version": 1,
        "exported_at": (exported_at or now).isoformat(),
        "settings": {"desired_retention": 0.9, "new_per_day": 10, "interview_date": None},
        "cards": [
            {
                "question_id": qid,
                "state": int(card.state),
                "step": card.step,
                "stability": card.stability,
                "difficulty": card.difficulty,
                "due": card.due.isoformat(),
                "last_review": card.last_review.isoformat() if card.last_review else None,
                "reps": reps,
                "fails": fails,
            }
            for qid, (card, reps, fails) in sorted(cards.items())
        ],
        "reviews": log,
    }
