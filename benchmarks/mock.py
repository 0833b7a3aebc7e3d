"""Benchmark mock interviews against a real uvicorn: `.venv/bin/python benchmarks/mock.py`.

Starts its own uvicorn on a free port with a temporary database and, for every round, runs a short
session through the JSON API and the pages:

- create a 5-question session (`POST /api/mock-sessions`, selection "weakest": reads the drill cards);
- submit a typical answer (the bank's strong sample for that question) and a maximal one (20 000
  characters, the checker's worst case) — each is saved and checked against the key points;
- confirm with a self-rating (writes the drill review);
- render the session page (`GET /mock/{id}`) and, after finishing, the report page with its trend
  (`GET /mock/{id}/report`), which grows with the number of finished sessions;
- at the end, the history page and the session list with every session in it.

Prints median and p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import os

import httpx
from _harness import median_p95, served_app, timed_request

from app.question_bank import get_bank


def timed(
    results: dict[str, list[float]],
    name: str,
    record: bool,
    client: httpx.Client,
    method: str,
    path: str,
    body: dict | None = None,
) -> httpx.Response:
    """One request, its wall time appended to results[name] when `record`; any HTTP error stops the run."""
    # Writes are JSON even without a body (bodiless POSTs like finish need the type: app/csrf.py).
    headers = {"content-type": "application/json"} if method != "GET" else {}
    elapsed, response = timed_request(client, method, path, json=body, headers=headers)
    if response.status_code >= 400:
        raise RuntimeError(f"{name}: {response.status_code} {response.text[:300]}")
    if record:
        results.setdefault(name, []).append(elapsed)
    return response


def measure(url: str, rounds: int, warmup: int) -> dict[str, list[float]]:
    bank = get_bank()
    strong = {qid: next(s.text for s in q.samples if s.kind == "strong") for qid, q in bank.items()}
    filler = "注意力机制用 softmax(QK^T/√d_k)V 计算，每个位置看所有位置。"
    long_text = (filler * (20_000 // len(filler) + 1))[:20_000]
    results: dict[str, list[float]] = {}
    with httpx.Client(base_url=url, timeout=30) as c:
        for i in range(warmup + rounds):
            rec = i >= warmup
            body = {"count": 5, "selection": "weakest", "seed": i}
            data = timed(results, "create session (POST)", rec, c, "POST", "/api/mock-sessions", body).json()
            sid = data["id"]
            api = f"/api/mock-sessions/{sid}"
            first, second = (q["question_id"] for q in data["questions"][:2])
            answer = {"question_id": first, "text": strong[first]}
            timed(results, "typical answer: save + check", rec, c, "POST", f"{api}/answers", answer)
            timed(results, "session page (GET /mock/{id})", rec, c, "GET", f"/mock/{sid}")
            confirm = {"rating": 1 + i % 4}
            timed(results, "confirm + drill review", rec, c, "POST", f"{api}/answers/{first}/confirm", confirm)
            c.get(api)  # serve the second question
            long_answer = {"question_id": second, "text": long_text}
            timed(results, "20 000-char answer: save + check", rec, c, "POST", f"{api}/answers", long_answer)
            timed(results, "finish (POST, returns report)", rec, c, "POST", f"{api}/finish")
            timed(results, "report page with trend", rec, c, "GET", f"/mock/{sid}/report")
        c.get("/mock/history")  # warm-up: the first render compiles the template
        for _ in range(20):
            timed(results, f"history page ({warmup + rounds} sessions)", True, c, "GET", "/mock/history")
            timed(results, f"GET /api/mock-sessions ({warmup + rounds})", True, c, "GET", "/api/mock-sessions")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    print(f"mock benchmark: {args.rounds} sessions after {args.warmup} warm-up, {os.cpu_count()} CPUs")
    with served_app() as url:
        results = measure(url, args.rounds, args.warmup)
    for name, values in results.items():
        median, p95 = median_p95(values)
        print(f"  {name:<36} n={len(values):>4}  median {median:7.2f} ms   p95 {p95:7.2f} ms")


if __name__ == "__main__":
    main()
