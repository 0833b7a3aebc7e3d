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
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from app import scheduler as sched  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.main import prepare_database  # noqa: E402
from app.models import DrillCard, DrillReview  # noqa: E402
from app.services.drill import QUESTION_IDS  # noqa: E402
from app.services.users import DEFAULT_USER_ID  # noqa: E402


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uvicorn did not start")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


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
            t2 = time.perf_counter()
            client.get("/api/drill/next")
            t3 = time.perf_counter()
            if i >= warmup:
                round_trip.append((t1 - t0) * 1000)
                next_only.append((t3 - t2) * 1000)
    return {"grade round-trip (POST reviews + GET next)": round_trip, "next-card selection (GET next)": next_only}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--log-sizes", type=int, nargs="+", default=[0, 10_000])
    args = parser.parse_args()
    print(f"drill benchmark: {args.rounds} rounds after {args.warmup} warm-up, {os.cpu_count()} CPUs")
    for size in args.log_sizes:
        with tempfile.TemporaryDirectory() as tmp:
            db_path = Path(tmp) / "bench.db"
            seed(db_path, size)
            process, url = start_server(db_path)
            try:
                results = measure(url, args.rounds, args.warmup)
            finally:
                process.terminate()
                process.wait(timeout=10)
        for name, values in results.items():
            print(
                f"  log rows={size:>6}  {name:<44} median {statistics.median(values):6.2f} ms"
                f"   p95 {percentile(values, 0.95):6.2f} ms"
            )


if __name__ == "__main__":
    main()
