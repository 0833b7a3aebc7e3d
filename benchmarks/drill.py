"""Benchmark the drill grade round-trip against a real uvicorn: `.venv/bin/python benchmarks/drill.py`.

For a database with an empty review log and one with 10 000 review-log rows for the learner, it
starts its own uvicorn on a free port with a temporary database, then measures

- the grade round-trip: `POST /api/drill/reviews` for the shown card + `GET /api/drill/next`;
- next-card selection alone: `GET /api/drill/next`;

and prints median and p95 in milliseconds. Every card is due and graded Again, so a card is always
available and each grade really writes a card update and a log row.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
from _harness import median_p95, served_app, timed_request
from sqlmodel import Session

from app import scheduler as sched
from app.db import make_engine
from app.main import prepare_database
from app.models import DrillCard, DrillReview
from app.question_bank import ALL_QUESTION_IDS
from app.services.users import DEFAULT_USER_ID

QUESTION_IDS = ALL_QUESTION_IDS[:30]  # the guide track's 30 questions


def seed(db_path: Path, reviews: int) -> None:
    """A consistent history: `reviews` FSRS reviews spread over the past year, every card due now."""
    engine = make_engine(f"sqlite:///{db_path}")
    prepare_database(engine)
    now = datetime.now(UTC)
    if reviews:
        start = now - timedelta(days=365)
        step = timedelta(days=364) / reviews
        cards = {qid: sched.new_card(question_id=qid, now=start) for qid in QUESTION_IDS}
        counters = {qid: [0, 0] for qid in QUESTION_IDS}
        rows = []
        for i in range(reviews):
            qid = QUESTION_IDS[i % len(QUESTION_IDS)]
            at = start + step * i
            rating = (3, 3, 1, 4, 2)[i % 5]
            before = cards[qid]
            after = sched.apply_rating(card=before, rating=rating, now=at).card
            reps, fails = counters[qid]
            snap_before = {**before.to_dict(), "reps": reps, "fails": fails}
            counters[qid] = [reps + 1, fails + (rating == 1)]
            rows.append(
                DrillReview(
                    user_id=DEFAULT_USER_ID,
                    question_id=qid,
                    rating=rating,
                    reviewed_at=at,
                    duration_ms=5000,
                    source="drill",
                    review_token=f"seed-{i}",
                    state_before=int(before.state) if reps else 0,
                    state_after=int(after.state),
                    card_before=json.dumps(snap_before) if reps else None,
                    card_after=json.dumps({**after.to_dict(), "reps": reps + 1, "fails": counters[qid][1]}),
                )
            )
            cards[qid] = after
        with Session(engine) as session:
            session.add_all(rows)
            for qid, card in cards.items():
                row = DrillCard(
                    user_id=DEFAULT_USER_ID,
                    question_id=qid,
                    state=int(card.state),
                    due=now - timedelta(hours=1),  # everything due, so the queue never runs dry
                    reps=counters[qid][0],
                    fails=counters[qid][1],
                )
                row.step, row.stability, row.difficulty, row.last_review = (
                    card.step,
                    card.stability,
                    card.difficulty,
                    card.last_review,
                )
                session.add(row)
            session.commit()
    engine.dispose()


def measure(url: str, rounds: int, warmup: int) -> dict[str, list[float]]:
    round_trip: list[float] = []
    next_only: list[float] = []
    with httpx.Client(base_url=url, timeout=10) as client:
        card = client.get("/api/drill/next").json()
        for i in range(warmup + rounds):
            if card["question_id"] is None:
                raise RuntimeError(f"queue ran dry: {card}")
            body = {"question_id": card["question_id"], "rating": 1, "review_token": card["review_token"]}
            t0 = time.perf_counter()
            response = client.post("/api/drill/reviews", json=body | {"duration_ms": 3000})
            card = client.get("/api/drill/next").json()
            t1 = time.perf_counter()
            if response.status_code != 201:
                raise RuntimeError(f"grade failed: {response.status_code} {response.text}")
            next_ms, _ = timed_request(client, "GET", "/api/drill/next")
            if i >= warmup:
                round_trip.append((t1 - t0) * 1000)
                next_only.append(next_ms)
    return {"grade round-trip (POST reviews + GET next)": round_trip, "next-card selection (GET next)": next_only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--log-sizes", type=int, nargs="+", default=[0, 10_000])
    args = parser.parse_args()
    print(f"drill benchmark: {args.rounds} rounds after {args.warmup} warm-up, {os.cpu_count()} CPUs")
    for size in args.log_sizes:
        with served_app(prepare=partial(seed, reviews=size)) as url:
            results = measure(url, args.rounds, args.warmup)
        for name, values in results.items():
            median, p95 = median_p95(values)
            print(f"  log rows={size:>6}  {name:<44} median {median:6.2f} ms   p95 {p95:6.2f} ms")


if __name__ == "__main__":
    main()
