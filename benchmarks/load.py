"""Mixed load against a real uvicorn, then an integrity check: `.venv/bin/python benchmarks/load.py [--busy]`.

50 clients (threads, each with its own keep-alive connection) for 20 seconds, loopback only; it stops by
itself. Every client loops over a weighted mix of what a learner does:

- drill: `GET /api/drill/next`, then `POST /api/drill/reviews` with its token (clients race for the same
  30 cards, so stale tokens (422), replays (200) and undone tokens (409) are part of the mix);
- undo of the client's own newest acknowledged review (`POST /api/drill/undo?review_id=`; 409 when another
  review or undo came after it, 422 when the newest review came from a mock interview);
- a mock interview of 3 questions: create, answer, confirm with a rating (a drill review), …, finish;
- `POST /api/attention` (mostly a few shared sentences, one in five unseen: a model run);
- page GETs (home, drill, stats, question bank, a question, mock history, a visualizer view) and `/api/stats`.

Counted: server errors (5xx), statuses outside each endpoint's expected set, transport errors. Then, with
the load stopped, the integrity check: the review log holds exactly the drill reviews answered 201 minus
the undos answered 200 (compared token by token) plus one row per confirmed mock item; every card equals
its newest log snapshot; and export → import → export gives the same cards and log.
`--busy` runs the same with a background process spinning on one core. Prints p50/p95 per endpoint.
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from _harness import busy_core, cards_off_their_log, median_p95, served_app

JSON = {"Content-Type": "application/json"}
SHARED_SENTENCES = ["注意力机制 attention", "KV Cache 让解码更快", "Transformer 2017", "多头注意力 multi-head"]
PAGES = ["/", "/drill", "/stats", "/questions", "/questions/q05", "/mock/history", "/api/stats"]
PAGES.append("/visualize/attention?text=" + SHARED_SENTENCES[0])
# Expected statuses per endpoint label; anything else is counted (5xx separately).
EXPECTED = {
    "GET /api/drill/next": {200},
    "POST /api/drill/reviews": {200, 201, 409, 422},
    "POST /api/drill/undo": {200, 409, 422},
    "POST /api/mock-sessions": {201},
    "GET /api/mock-sessions/{id}": {200},
    "POST …/answers": {200},
    "POST …/confirm": {200},
    "POST …/finish": {200},
    "POST /api/attention": {200},
    "GET pages": {200},
}
WEIGHTS = {"drill": 40, "undo": 8, "mock": 17, "attention": 10, "page": 25}


@dataclass
class Tally:
    """What the clients saw; shared between threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    unexpected: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    acked_tokens: dict[int, str] = field(default_factory=dict)  # log_id -> token of each 201 drill review
    undone_ids: set[int] = field(default_factory=set)  # log ids whose undo was answered 200
    confirmed_items: set[tuple[int, str]] = field(default_factory=set)  # (mock id, question id) answered 200
    uncertain: int = 0  # writes whose answer never arrived (outcome unknown)


class Client:
    def __init__(self, url: str, tally: Tally, seed: int) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.tally = tally
        self.rng = random.Random(seed)
        self.seed = seed
        self.my_reviews: list[int] = []
        self.mock_id: int | None = None
        self.to_confirm: str | None = None
        self.unseen = 0

    def call(self, label: str, method: str, path: str, **kwargs) -> httpx.Response | None:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            with self.tally.lock:
                self.tally.transport_errors.append(f"{label}: {type(exc).__name__} {exc}")
                self.tally.uncertain += method != "GET"
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.tally.lock:
            self.tally.times[label].append(elapsed)
            self.tally.statuses[label][response.status_code] += 1
            if response.status_code not in EXPECTED[label]:
                self.tally.unexpected.append(f"{label} {path} -> {response.status_code} {response.text[:160]}")
        return response

    def drill(self) -> None:
        shown = self.call("GET /api/drill/next", "GET", "/api/drill/next")
        if shown is None or shown.status_code != 200 or shown.json().get("question_id") is None:
            return
        card = shown.json()
        body = {
            "question_id": card["question_id"],
            "rating": self.rng.choice([1, 1, 2, 3, 4]),  # mostly Again/Hard: cards stay in the learning queue
            "review_token": card["review_token"],
            "duration_ms": self.rng.randint(500, 30_000),
        }
        graded = self.call("POST /api/drill/reviews", "POST", "/api/drill/reviews", json=body)
        if graded is not None and graded.status_code == 201:
            log_id = graded.json()["log_id"]
            with self.tally.lock:
                self.tally.acked_tokens[log_id] = body["review_token"]
            self.my_reviews.append(log_id)
            if self.rng.random() < 0.3:  # "u" right after grading, as a learner who mis-pressed would
                self.undo()

    def undo(self) -> None:
        if not self.my_reviews:
            return self.drill()
        log_id = self.my_reviews.pop()
        undone = self.call("POST /api/drill/undo", "POST", f"/api/drill/undo?review_id={log_id}", headers=JSON)
        if undone is not None and undone.status_code == 200:
            assert undone.json()["undone_log_id"] == log_id, undone.text
            with self.tally.lock:
                self.tally.undone_ids.add(log_id)

    def mock(self) -> None:
        if self.mock_id is None:
            body = {"count": 3, "selection": "random", "request_id": uuid.uuid4().hex}
            created = self.call("POST /api/mock-sessions", "POST", "/api/mock-sessions", json=body)
            if created is not None and created.status_code == 201:
                self.mock_id = created.json()["id"]
            return
        base = f"/api/mock-sessions/{self.mock_id}"
        if self.to_confirm is not None:
            qid, self.to_confirm = self.to_confirm, None
            body = {"rating": self.rng.randint(1, 4)}
            confirmed = self.call("POST …/confirm", "POST", f"{base}/answers/{qid}/confirm", json=body)
            if confirmed is not None and confirmed.status_code == 200:
                with self.tally.lock:
                    self.tally.confirmed_items.add((self.mock_id, qid))
            return
        shown = self.call("GET /api/mock-sessions/{id}", "GET", base)
        if shown is None or shown.status_code != 200:
            self.mock_id = None
            return
        current = shown.json()["current"]
        if current is None:
            self.call("POST …/finish", "POST", f"{base}/finish", headers=JSON)
            self.mock_id = None
            return
        if current["answered"]:  # answered, the confirm did not go through: confirm it now
            self.to_confirm = current["question_id"]
            return self.mock()
        text = "缩放是为了防止点积方差随 d_k 增大导致 softmax 饱和、梯度消失，所以除以根号 d_k。"
        answer = {"question_id": current["question_id"], "text": text[: self.rng.randint(0, len(text))]}
        answered = self.call("POST …/answers", "POST", f"{base}/answers", json=answer)
        if answered is not None and answered.status_code == 200:
            self.to_confirm = current["question_id"]

    def attention(self) -> None:
        if self.rng.random() < 0.2:
            self.unseen += 1
            text = f"新句子 {self.seed}-{self.unseen} unseen"
        else:
            text = self.rng.choice(SHARED_SENTENCES)
        self.call("POST /api/attention", "POST", "/api/attention", json={"text": text})

    def page(self) -> None:
        self.call("GET pages", "GET", self.rng.choice(PAGES))

    def run(self, deadline: float) -> None:
        actions = list(WEIGHTS)
        weights = list(WEIGHTS.values())
        with self.http:
            while time.monotonic() < deadline:
                getattr(self, self.rng.choices(actions, weights)[0])()


def integrity(url: str, tally: Tally) -> dict:
    """Compare the stored log with what the responses promised; round-trip export → import → export."""
    with httpx.Client(base_url=url, timeout=300) as http:
        exported = http.get("/api/export").json()
        drill_tokens = {r["review_token"] for r in exported["reviews"] if r["source"] == "drill"}
        mock_rows = sum(r["source"] == "mock" for r in exported["reviews"])
        promised = {token for log_id, token in tally.acked_tokens.items() if log_id not in tally.undone_ids}
        mismatched = cards_off_their_log(exported)
        imported = http.post("/api/import", json=exported)
        again = http.get("/api/export").json()
        same = all(again[k] == exported[k] for k in ("settings", "cards", "reviews"))
    return {
        "log rows": len(exported["reviews"]),
        "acked reviews": len(tally.acked_tokens),
        "acked undos": len(tally.undone_ids),
        "acked mock ratings": len(tally.confirmed_items),
        "lost (acked, not stored)": len(promised - drill_tokens),
        "phantom (stored, not acked)": len(drill_tokens - promised),
        "mock rows − confirmed": mock_rows - len(tally.confirmed_items),
        "cards ≠ newest snapshot": len(mismatched),
        "import status": imported.status_code,
        "export→import→export same": same,
    }


def run(url: str, clients: int, seconds: float) -> bool:
    with httpx.Client(base_url=url, timeout=60) as http:
        http.put("/api/settings", json={"new_per_day": 100}).raise_for_status()
        http.post("/api/attention", json={"text": SHARED_SENTENCES[0]}).raise_for_status()
    tally = Tally()
    workers = [Client(url, tally, seed=n) for n in range(clients)]
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=w.run, args=(deadline,)) for w in workers]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    total = sum(len(v) for v in tally.times.values())
    print(f"{clients} clients × {seconds:.0f} s: {total} requests in {wall:.1f} s ({total / wall:.0f}/s)")
    print(f"{'endpoint':<30} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}  statuses")
    for label in EXPECTED:
        times = tally.times.get(label)
        if not times:
            continue
        p50, p95 = median_p95(times)
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(tally.statuses[label].items()))
        print(f"{label:<30} {len(times):>6} {p50:>8.1f} {p95:>8.1f}  {statuses}")
    server_errors = sum(n for c in tally.statuses.values() for code, n in c.items() if code >= 500)
    print(f"\nserver errors (5xx): {server_errors}   unexpected statuses: {len(tally.unexpected)}   ", end="")
    print(f"transport errors: {len(tally.transport_errors)} (writes with unknown outcome: {tally.uncertain})")
    for line in (tally.unexpected + tally.transport_errors)[:8]:
        print(f"  {line}")
    checks = integrity(url, tally)
    print("integrity: " + ", ".join(f"{k} {v}" for k, v in checks.items()))
    ok = not server_errors and not tally.unexpected and not tally.transport_errors
    return (
        ok
        and checks["lost (acked, not stored)"] == 0
        and checks["phantom (stored, not acked)"] == 0
        and (
            checks["mock rows − confirmed"] == 0
            and checks["cards ≠ newest snapshot"] == 0
            and checks["import status"] == 200
            and checks["export→import→export same"]
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, choices=range(1, 201), metavar="1-200")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the load runs (at most 120)")
    parser.add_argument("--busy", action="store_true", help="also keep one core busy with a spinning process")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), 120.0)
    # As `make run` serves it (Makefile): beyond 128 connections or running requests, 503.
    with served_app(uvicorn_args=["--limit-concurrency", "128", "--timeout-keep-alive", "5"]) as url:
        if args.busy:
            with busy_core():
                print("(one core kept busy by a spinning process)")
                ok = run(url, args.clients, seconds)
        else:
            ok = run(url, args.clients, seconds)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
