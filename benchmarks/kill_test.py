"""`kill -9` the server mid-write, again and again: `.venv/bin/python benchmarks/kill_test.py [--kills 10]`.

One database file and secret survive every round. Each round starts uvicorn on them, checks that it
started clean (healthy, no traceback in its log, pages and the API answer 200), then checks the data the
earlier rounds left: every review answered 201 is in the log, every undo answered 200 left no row, each
mock rating answered 200 has its review, nothing is stored that no request could have written, and every
card equals its newest log snapshot (no half-applied write). Then 4 clients send drill reviews, undos and
mock confirms back to back, and after a random 0.3–2.5 s the server gets SIGKILL (no shutdown code runs).
A write whose answer never arrived may or may not be stored; it is counted as "in flight", never as lost.

The final round also round-trips export → import → export. Prints the counts; exit status 1 on any loss.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _harness import Server, cards_off_their_log

JSON = {"Content-Type": "application/json"}
CLIENTS = 4
PAGES = ["/", "/drill", "/stats", "/mock/history", "/api/stats", "/api/drill/cards"]


@dataclass
class Ledger:
    """What the responses promised, across every round."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: dict[int, str] = field(default_factory=dict)  # log id -> token of each review answered 201
    undone: set[int] = field(default_factory=set)  # log ids whose undo was answered 200
    in_flight_reviews: set[str] = field(default_factory=set)  # tokens sent whose answer never came
    in_flight_undos: set[int] = field(default_factory=set)
    confirmed: set[tuple[int, str]] = field(default_factory=set)  # mock items whose confirm was answered 200
    confirms_in_flight: int = 0
    requests: int = 0


def client_loop(url: str, ledger: Ledger, seed: int, stop: threading.Event) -> None:
    rng = random.Random(seed)
    mine: list[int] = []
    mock_id: int | None = None
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            token: str | None = None
            undo_id: int | None = None
            confirming = False
            try:
                roll = rng.random()
                if roll < 0.15 and mine:
                    undo_id = mine.pop()
                    r = http.post(f"/api/drill/undo?review_id={undo_id}", headers=JSON)
                    if r.status_code == 200:
                        with ledger.lock:
                            ledger.undone.add(undo_id)
                elif roll < 0.3:
                    if mock_id is None:
                        body = {"count": 3, "request_id": uuid.uuid4().hex}
                        mock_id = http.post("/api/mock-sessions", json=body).json()["id"]
                    base = f"/api/mock-sessions/{mock_id}"
                    current = http.get(base).json()["current"]
                    if current is None:
                        http.post(f"{base}/finish", headers=JSON)
                        mock_id = None
                        continue
                    qid = current["question_id"]
                    if not current["answered"]:
                        http.post(f"{base}/answers", json={"question_id": qid, "text": "softmax 前除以根号 d_k"})
                    confirming = True
                    r = http.post(f"{base}/answers/{qid}/confirm", json={"rating": rng.randint(1, 4)})
                    confirming = False
                    if r.status_code == 200:
                        with ledger.lock:
                            ledger.confirmed.add((mock_id, qid))
                else:
                    card = http.get("/api/drill/next").json()
                    if card.get("question_id") is None:
                        continue
                    token = card["review_token"]
                    body = {"question_id": card["question_id"], "rating": rng.choice([1, 2, 3]), "review_token": token}
                    r = http.post("/api/drill/reviews", json=body)
                    if r.status_code == 201:
                        with ledger.lock:
                            ledger.acked[r.json()["log_id"]] = token
                        mine.append(r.json()["log_id"])
                    token = None
                with ledger.lock:
                    ledger.requests += 1
            except (httpx.HTTPError, ValueError, KeyError):
                # The server died under this request: its outcome is unknown.
                with ledger.lock:
                    if token is not None:
                        ledger.in_flight_reviews.add(token)
                    if undo_id is not None:
                        ledger.in_flight_undos.add(undo_id)
                    ledger.confirms_in_flight += confirming
                return


def check(server: Server, ledger: Ledger, log_offset: int) -> dict[str, int]:
    """The state after a restart against the ledger: lost, phantom and half-written counts."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        bad_pages = [p for p in PAGES if http.get(p).status_code != 200]
        exported = http.get("/api/export")
        exported.raise_for_status()
        data = exported.json()
        # Opening a session completes a rating whose review a crash cut off (claimed, not yet recorded).
        for mock in http.get("/api/mock-sessions").json():
            http.get(f"/api/mock-sessions/{mock['id']}/report")
        data_after = http.get("/api/export").json()
    stored = {r["review_token"] for r in data["reviews"] if r["source"] == "drill"}
    promised = {token for log_id, token in ledger.acked.items() if log_id not in ledger.undone}
    undone_tokens = {ledger.acked[i] for i in ledger.undone}
    mock_rows = sum(r["source"] == "mock" for r in data_after["reviews"])
    unexplained = stored - promised - ledger.in_flight_reviews
    # An undo in flight may have removed its row: acked reviews whose undo is in flight may be missing.
    maybe_undone = {ledger.acked[i] for i in ledger.in_flight_undos if i in ledger.acked}
    return {
        "lost": len(promised - stored - maybe_undone),
        "undone but stored": len(undone_tokens & stored),
        "phantom": len(unexplained),
        "mock ratings lost": max(0, len(ledger.confirmed) - mock_rows),
        "mock rows unexplained": max(0, mock_rows - len(ledger.confirmed) - ledger.confirms_in_flight),
        "cards off their log": len(cards_off_their_log(data_after)),
        "pages not 200": len(bad_pages),
        "traceback in log": int("Traceback" in server.log_path.read_text(errors="replace")[log_offset:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, choices=range(1, 51), metavar="1-50")
    parser.add_argument("--seed", type=int, default=20261202)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    ledger = Ledger()
    problems = 0
    startups: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "kill.db")
        try:
            for round_no in range(args.kills + 1):
                log_offset = len(server.log_path.read_text(errors="replace")) if server.log_path.exists() else 0
                startups.append(server.start())
                with httpx.Client(base_url=server.url, timeout=60) as http:
                    http.put("/api/settings", json={"new_per_day": 100}).raise_for_status()
                counts = check(server, ledger, log_offset)
                problems += sum(counts.values())
                print(
                    f"round {round_no:>2}: started in {startups[-1]:.1f} s; "
                    + ", ".join(f"{k} {v}" for k, v in counts.items())
                )
                if round_no == args.kills:
                    break
                stop = threading.Event()
                threads = [
                    threading.Thread(target=client_loop, args=(server.url, ledger, rng.randrange(1 << 30), stop))
                    for _ in range(CLIENTS)
                ]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.3, 2.5))
                server.kill()
                stop.set()
                for t in threads:
                    t.join()
            with httpx.Client(base_url=server.url, timeout=300) as http:
                exported = http.get("/api/export").json()
                imported = http.post("/api/import", json=exported)
                again = http.get("/api/export").json()
            same = all(again[k] == exported[k] for k in ("settings", "cards", "reviews"))
            problems += imported.status_code != 200 or not same
        finally:
            server.stop()
    print(
        f"\n{args.kills} kills; {ledger.requests} requests answered; {len(ledger.acked)} reviews acknowledged, "
        f"{len(ledger.undone)} undos, {len(ledger.confirmed)} mock ratings; in flight at a kill: "
        f"{len(ledger.in_flight_reviews)} reviews, {len(ledger.in_flight_undos)} undos, "
        f"{ledger.confirms_in_flight} confirms; log rows at the end {len(exported['reviews'])}; "
        f"import {imported.status_code}, export→import→export same: {same}; "
        f"start-up {min(startups):.1f}–{max(startups):.1f} s"
    )
    print("PASS: 0 lost, 0 phantom, 0 half-written" if not problems else f"FAIL: {problems} problems")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
