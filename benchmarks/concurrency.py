"""Many visitors at once: latency of POST /api/attention with 20 and 50 concurrent clients, against a real uvicorn.

    .venv/bin/python benchmarks/concurrency.py            # starts its own server (temp DB, free port)
    .venv/bin/python benchmarks/concurrency.py --url http://127.0.0.1:8000 --clients 20 50

Each client sends its requests back to back. "distinct" gives every request a sentence the server has not
seen (each one is a model run, which queues for one of TORCH_WORKERS slots); "shared" has every client ask
for the same few sentences (concurrent requests for one sentence share one run, then the cache answers).
Also measured while the distinct load runs: GET /healthz, which must stay fast (the event loop is free).
Figures: median and p95 per request, and requests per second.

Then the most expensive GET, as an `<img src=/visualize/kv-cache?text=…>` on any page could send it: 10 parallel
requests, each with a new 64-character sentence (a model run, a step-by-step decode and the cache timing),
with wall time per request and the server's CPU time per request (from /proc; needs the server started here).
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
from _harness import cpu_seconds, median_p95, percentile, served_server, timed_request

SEED_TEXT = "注意力机制让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017 Attention is all you need"
TEXT_LENGTH = 32


def sentence(n: int, length: int = TEXT_LENGTH) -> str:
    """A mixed Chinese/English sentence of exactly `length` characters, different for every n."""
    start = n % len(SEED_TEXT)
    rotated = SEED_TEXT[start:] + SEED_TEXT[:start]
    tag = f"{n:x}"
    return (tag + rotated * (length // len(rotated) + 1))[:length]


def run_load(url: str, clients: int, per_client: int, distinct: bool, offset: int) -> dict:
    """`clients` threads, each with its own connection, sending `per_client` attention requests back to back."""
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_loop(c: int) -> None:
        with httpx.Client(base_url=url, timeout=300) as client:
            for i in range(per_client):
                n = offset + c * per_client + i if distinct else i % 4
                ms, response = timed_request(client, "POST", "/api/attention", json={"text": sentence(n)})
                with lock:
                    times.append(ms)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code} {response.text[:120]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    wall = time.perf_counter() - started
    median, p95 = median_p95(times)
    return {"median": median, "p95": p95, "max": max(times), "rps": len(times) / wall, "errors": errors}


def healthz_during(url: str, load: threading.Thread) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=300) as client:
        while load.is_alive():
            ms, _ = timed_request(client, "GET", "/healthz")
            times.append(ms)
            time.sleep(0.05)
    return times


def measure(url: str, client_counts: list[int], per_client: int) -> None:
    with httpx.Client(base_url=url, timeout=300) as client:
        first = client.post("/api/attention", json={"text": "预热 warm-up"})
        if first.status_code != 200:
            raise SystemExit(f"/api/attention -> HTTP {first.status_code}: {first.text[:300]}")
        single = [
            timed_request(client, "POST", "/api/attention", json={"text": sentence(10_000 + i)})[0] for i in range(10)
        ]
    alone_median, alone_p95 = median_p95(single)
    print(f"server: {url}   {TEXT_LENGTH}-character sentences, {per_client} requests per client")
    print(f"one client alone, unseen sentences: median {alone_median:.0f} ms, p95 {alone_p95:.0f} ms")
    header = f"{'clients':>7} {'sentences':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'req/s':>6}"
    print(f"\n{header}  healthz p95 ms")
    offset = 20_000
    for clients in client_counts:
        for distinct in (True, False):
            result: dict = {}
            args = (url, clients, per_client, distinct, offset)
            worker = threading.Thread(target=lambda out=result, args=args: out.update(run_load(*args)))
            worker.start()
            health = healthz_during(url, worker)
            worker.join()
            offset += clients * per_client
            health_p95 = f"{percentile(health, 0.95):.0f}" if health else "–"
            kind = "distinct" if distinct else "shared"
            print(
                f"{clients:>7} {kind:>9} {result['median']:>10.0f} {result['p95']:>8.0f} {result['max']:>8.0f} "
                f"{result['rps']:>6.1f}  {health_p95}"
            )
            for error in result["errors"][:3]:
                print(f"        error: {error}")


def kv_cache_cost(url: str, pid: int | None, parallel: int = 10, length: int = 64) -> None:
    """`parallel` concurrent GETs of /visualize/kv-cache, each for a sentence the server has not seen."""
    paths = [f"/visualize/kv-cache?text={quote(sentence(90_000 + n, length))}" for n in range(parallel)]

    def one(path: str) -> tuple[float, int]:
        with httpx.Client(base_url=url, timeout=300) as client:
            ms, response = timed_request(client, "GET", path)
            return ms, response.status_code

    cpu_before = cpu_seconds(pid) if pid else None
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        results = list(pool.map(one, paths))
    wall = time.perf_counter() - started
    times = [ms for ms, _ in results]
    median, p95 = median_p95(times)
    statuses = sorted({status for _, status in results})
    cpu = f", server CPU {(cpu_seconds(pid) - cpu_before) / parallel * 1000:.0f} ms per request" if pid else ""
    print(
        f"\n{parallel} parallel GET /visualize/kv-cache, new {length}-character sentences: median {median:.0f} ms, "
        f"p95 {p95:.0f} ms, max {max(times):.0f} ms, all done in {wall:.1f} s{cpu}; statuses {statuses}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="measure an already running server instead of starting one")
    parser.add_argument("--clients", type=int, nargs="+", default=[20, 50], help="concurrent clients per run")
    parser.add_argument("--requests", type=int, default=4, help="requests per client")
    args = parser.parse_args(argv)
    if args.url:
        measure(args.url.rstrip("/"), args.clients, args.requests)
        kv_cache_cost(args.url.rstrip("/"), None)
        return 0
    with served_server() as server:
        measure(server.url, args.clients, args.requests)
        kv_cache_cost(server.url, server.pid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
