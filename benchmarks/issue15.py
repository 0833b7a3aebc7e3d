"""The figures of issue 15, each paired with a bare endpoint (`GET /healthz`) measured in the same run.

    .venv/bin/python benchmarks/issue15.py [--quick]

Against real uvicorn servers (temporary databases, free ports): start-up (launch → first /healthz 200);
the drill round-trip at 0 and 100 000 review rows, and again while 4 clients hammer /api/attention;
/stats and /mock/history at 1 000 / 100 000 reviews and 10 / 1 000 mock sessions; the visualizer fragment for
a new 32-character sentence, idle and with 2 background clients; RSS after a tour of every view at 64 characters;
and, in-process, one full instrumented model run on 32 characters. The machine is shared: compare the ratios
within one run, and read absolute milliseconds as this run's only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _harness import busy_core, cpu_seconds, median_p95, percentile, served_server, timed_request
from startup import launch_once

from app import scheduler as sched
from app.db import make_engine
from app.main import prepare_database
from app.question_bank import ALL_QUESTION_IDS
from app.services.visualize.state import VIEWS  # every visualizer view, as the app lists them

GUIDE = list(ALL_QUESTION_IDS[:30])  # the default drill tracks' questions
HX = {"HX-Request": "true", "HX-Trigger": "vz-form"}
SEED_TEXT = "注意力机制让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017 Attention is all you need"
SECTIONS = ("model", "startup", "visualizer", "memory", "data")
RESULTS: list[tuple[str, str, str]] = []  # (figure, measured, verdict) for the summary


def sentence(n: int, length: int) -> str:
    """A mixed Chinese/English sentence of exactly `length` characters, different for every n."""
    rotated = SEED_TEXT[n % len(SEED_TEXT) :] + SEED_TEXT[: n % len(SEED_TEXT)]
    return (f"{n:x}" + rotated * (length // len(rotated) + 1))[:length]


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def report(figure: str, measured: str, ok: bool) -> None:
    RESULTS.append((figure, measured, verdict(ok)))
    print(f"  {figure}: {measured} -> {verdict(ok)}", flush=True)


# ------------------------------------------------------------------------------------------ data


def seed(db_path: Path, reviews: int, sessions: int) -> None:
    """`reviews` review-log rows spread over the past year (cheap constant snapshots: only the row count matters
    here), every guide card due now, and `sessions` finished mock interviews of 3 questions each."""
    engine = make_engine(f"sqlite:///{db_path}")
    prepare_database(engine)
    engine.dispose()
    now = datetime.now(UTC)
    card = sched.new_card(question_id="q01", now=now - timedelta(days=365))
    snapshot = json.dumps({**card.to_dict(), "reps": 0, "fails": 0})
    start = now - timedelta(days=365)

    def stamp(moment: datetime) -> str:  # how app.db.UTCDateTime stores an instant (naive UTC text)
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    with sqlite3.connect(db_path) as db:
        insert = partial(_insert, db)
        review = {
            "user_id": 1,
            "duration_ms": 4000,
            "source": "drill",
            "state_before": 2,
            "state_after": 2,
            "card_before": snapshot,
            "card_after": snapshot,
        }
        per_row = ["question_id", "rating", "reviewed_at", "review_token"]  # the last four values of each row
        review |= {name: 0 for name in _missing_required(db, "drill_review", [*review, *per_row])}
        review |= dict.fromkeys(per_row)
        db.executemany(
            f"INSERT INTO drill_review ({', '.join(review)}) VALUES ({', '.join('?' for _ in review)})",
            (
                tuple(review.values())[:-4]
                + (GUIDE[i % 30], (3, 3, 1, 4, 2)[i % 5], stamp(start + timedelta(days=364) * i / reviews), f"s{i}")
                for i in range(reviews)
            ),
        )
        for qid in GUIDE:  # every card due now, so the drill queue never runs dry
            insert(
                "drill_card",
                user_id=1,
                question_id=qid,
                state=2,
                stability=10.0,
                difficulty=5.0,
                due=stamp(now - timedelta(hours=1)),
                last_review=stamp(now - timedelta(days=10)),
                reps=sum(1 for i in range(reviews) if GUIDE[i % 30] == qid),  # a card's reps = its log rows
                fails=sum(1 for i in range(reviews) if GUIDE[i % 30] == qid and i % 5 == 2),
            )
        for n in range(sessions):
            at = start + timedelta(days=364) * n / max(sessions, 1)
            mock_id = insert(
                "mock_session",
                user_id=1,
                created_at=stamp(at),
                status="finished",
                finished_at=stamp(at + timedelta(minutes=15)),
                requested_count=3,
                count=3,
                selection="random",
                seed=n,
                score=float(n % 100),
                auto_score=float(n % 90),
            )
            for p in range(3):
                insert(
                    "mock_question",
                    mock_session_id=mock_id,
                    user_id=1,
                    position=p,
                    question_id=GUIDE[(n + p) % 30],
                    seconds_allowed=180,
                    started_at=stamp(at),
                    submitted_at=stamp(at + timedelta(minutes=2)),
                    seconds_used=100,
                    text="softmax 缩放",
                )


def _missing_required(db: sqlite3.Connection, table: str, given: list[str]) -> list[str]:
    """NOT NULL columns without a default that `given` leaves out (flags added by newer migrations get 0)."""
    rows = db.execute(f"PRAGMA table_info({table})").fetchall()
    return [
        name
        for _, name, _type, notnull, default, pk in rows
        if notnull and default is None and not pk and name not in given
    ]


def _insert(db: sqlite3.Connection, table: str, **values: object) -> int:
    """One row, 0 for required columns `values` leaves out."""
    values |= {name: 0 for name in _missing_required(db, table, list(values))}
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
    return int(cursor.lastrowid or 0)


# ------------------------------------------------------------------------------------------ measuring


def paired(client: httpx.Client, request: Callable[[], float], rounds: int) -> tuple[list[float], list[float]]:
    """`rounds` of (the measured request, then one /healthz), interleaved so both see the same machine."""
    measured, bare = [], []
    for _ in range(rounds):
        measured.append(request())
        bare.append(timed_request(client, "GET", "/healthz")[0])
    return measured, bare


def drill_round_trip(client: httpx.Client, card: dict) -> tuple[float, dict]:
    body = {"question_id": card["question_id"], "rating": 1, "review_token": card["review_token"], "duration_ms": 3000}
    t0 = time.perf_counter()
    response = client.post("/api/drill/reviews", json=body)
    nxt = client.get("/api/drill/next")
    ms = (time.perf_counter() - t0) * 1000
    if response.status_code != 201 or nxt.status_code != 200:
        raise SystemExit(f"drill round-trip failed: {response.status_code} {response.text[:200]} / {nxt.status_code}")
    return ms, nxt.json()


def hammer_attention(url: str, clients: int, stop: Any, offset: int, started: Any = None) -> list[int]:
    """`clients` threads posting new 32-character sentences to /api/attention back to back until `stop`; `started`
    is set once every client has had its first answer."""
    statuses: list[int] = []

    def loop(c: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            n = offset + c * 100_000
            while not stop.is_set():
                statuses.append(client.post("/api/attention", json={"text": sentence(n, 32)}).status_code)
                if started is not None and len(statuses) >= clients:
                    started.set()
                n += 1

    threads = [threading.Thread(target=loop, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join()
    return statuses


def _hammer_process(url: str, clients: int, offset: int, stop: Any, started: Any, out: Any) -> None:
    out.put(hammer_attention(url, clients, stop, offset, started))


def with_background(url: str, clients: int, offset: int, work: Callable[[], object]) -> tuple[object, list[int]]:
    """`work()` while `clients` others hammer /api/attention from another process: the load is on the server, not
    on this process's GIL (threads in this process would also delay the measuring client itself)."""
    context = multiprocessing.get_context("spawn")
    stop, started, out = context.Event(), context.Event(), context.Queue()
    hammer = context.Process(target=_hammer_process, args=(url, clients, offset, stop, started, out), daemon=True)
    hammer.start()
    if not started.wait(120):
        raise SystemExit("the background clients never got an answer")
    time.sleep(0.5)
    try:
        result = work()
    finally:
        stop.set()
        statuses = out.get(timeout=120)
        hammer.join()
    return result, statuses


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (Python's and the libraries' code, mapped by the server and its model
    workers alike) divided among the processes sharing them, so the sum over processes is the memory they take."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children() -> dict[int, list[tuple[int, bytes]]]:
    """parent pid -> [(pid, command line)] for every process visible now."""
    found: dict[int, list[tuple[int, bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            found.setdefault(parent, []).append((int(entry.name), command))
    return found


def model_workers(server_pid: int) -> list[int]:
    """The server's model worker processes (app.model_worker)."""
    return [pid for pid, command in _children().get(server_pid, []) if b"serve_stdio" in command]


def other_descendants(server_pid: int) -> list[int]:
    """Every other process the server started, and theirs (the code lab's sandbox server and its workers)."""
    tree, workers, found = _children(), set(model_workers(server_pid)), []
    stack = [pid for pid, _ in tree.get(server_pid, []) if pid not in workers]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += [child for child, _ in tree.get(pid, [])]
    return found


def memory_line(server_pid: int) -> tuple[str, float]:
    """RSS of the server and of each model worker, and their PSS total (the verdict's figure); and, apart, the
    PSS of what else the server started (the code lab's sandbox runner, once a page that can run code was shown)."""
    pids = [server_pid, *model_workers(server_pid)]
    rss = [rss_mb(pid) for pid in pids]
    pss = sum(pss_mb(pid) for pid in pids)
    others = other_descendants(server_pid)
    lab = sum(pss_mb(pid) for pid in others)
    parts = " + ".join(f"{r:.0f}" for r in rss)
    return (
        f"RSS {parts} MB (server + {len(pids) - 1} model worker(s)) = {sum(rss):.0f} MB; PSS total {pss:.0f} MB "
        f"(+ {lab:.0f} MB PSS in {len(others)} other process(es) it started: the code lab's runner)",
        pss,
    )


# ------------------------------------------------------------------------------------------ sections


def section_startup(runs: int) -> None:
    print("\n== start-up: launch (as `make run`) → first /healthz 200 ==", flush=True)
    with tempfile.TemporaryDirectory() as tmp:  # the first launch creates the database, the others reopen it
        results = [launch_once(Path(tmp)) for _ in range(runs)]
    for i, r in enumerate(results):
        print(
            f"  {'new database' if i == 0 else 'restart':<12}: healthy after {r['healthy']:.2f} s, first model "
            f"answer after {r['first_model']:.2f} s, /healthz then {r['healthz_ms']:.1f} ms"
        )
    worst = max(r["healthy"] for r in results)
    report("launch → healthy (worst of runs)", f"{worst:.2f} s (aim ≤ 3 s)", worst <= 3)


def alternating(clients: dict[str, httpx.Client], request: Callable[[httpx.Client], float], rounds: int) -> dict:
    """`rounds` times, one request to each server in turn, then one /healthz each: every server sees the same
    machine (this one is shared), so their ratio is not skewed by a busy minute on one side."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    bare: dict[str, list[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, client in clients.items():
            times[name].append(request(client))
            bare[name].append(timed_request(client, "GET", "/healthz")[0])
    return {name: (median_p95(times[name]), median_p95(bare[name])) for name in clients}


def section_data(rounds: int, big_reviews: int, big_sessions: int) -> None:
    print(
        f"\n== drill, stats and mock history with growing data (1 000 → {big_reviews} reviews, "
        f"10 → {big_sessions} sessions; the servers are measured in turn, request by request) ==",
        flush=True,
    )
    sizes = {"empty": (0, 0), "small": (1_000, 10), "big": (big_reviews, big_sessions)}
    # The same configuration for all three; no background model warm-up, so torch is not even imported until the
    # attention clients of the last part (a process holding torch collects garbage more slowly: not a data effect).
    quiet = {"WARM_UP_MODEL": "false"}
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(served_server(prepare=partial(seed, reviews=r, sessions=n), env=quiet))
            for name, (r, n) in sizes.items()
        }
        clients = {name: stack.enter_context(httpx.Client(base_url=s.url, timeout=60)) for name, s in servers.items()}
        cards = {name: c.get("/api/drill/next").json() for name, c in clients.items()}

        def drill(client: httpx.Client) -> float:
            name = next(n for n, c in clients.items() if c is client)
            ms, cards[name] = drill_round_trip(client, cards[name])
            return ms

        drill_clients = {k: clients[k] for k in ("empty", "big")}
        alternating(drill_clients, drill, 20)  # warm-up
        idle = alternating(drill_clients, drill, rounds)
        for name in ("empty", "big"):
            (_, dp95), (_, hp95) = idle[name]
            reviews = sizes[name][0]
            print(f"  {reviews:>6} reviews: drill round-trip p95 {dp95:.2f} ms, /healthz p95 {hp95:.2f} ms")
            report(
                f"drill round-trip p95 ≤ 3× /healthz p95, {reviews} reviews",
                f"{dp95:.2f} / {hp95:.2f} ms = {dp95 / hp95:.1f}×",
                dp95 <= 3 * hp95,
            )

        # What the framework alone costs: two requests that do no work, through the same middleware and routing.
        def no_work(client: httpx.Client) -> float:
            t0 = time.perf_counter()
            refused = client.post("/api/drill/reviews", json={})  # 422 at validation: nothing read or written
            client.get("/healthz")
            if refused.status_code != 422:
                raise SystemExit(f"empty review body -> {refused.status_code}")
            return (time.perf_counter() - t0) * 1000

        alternating({"empty": clients["empty"]}, no_work, 20)
        (_, fp95), (_, fh95) = alternating({"empty": clients["empty"]}, no_work, rounds)["empty"]
        print(
            f"  two requests doing no work (a POST refused at validation, then /healthz): p95 {fp95:.2f} ms = "
            f"{fp95 / fh95:.1f}× /healthz p95 {fh95:.2f} ms (the floor under any drill round-trip)"
        )
        growth = {k: clients[k] for k in ("small", "big")}
        for path in ("/stats", "/mock/history", "/mock"):

            def page(client: httpx.Client, path: str = path) -> float:
                ms, r = timed_request(client, "GET", path)
                if r.status_code != 200:
                    raise SystemExit(f"{path} -> {r.status_code}")
                return ms

            alternating(growth, page, 5)
            result = alternating(growth, page, max(rounds // 3, 20))
            (small_m, small_p95), (_, small_h) = result["small"]
            (big_m, big_p95), (_, big_h) = result["big"]
            print(
                f"  GET {path:<13} 1 000 reviews / 10 sessions: median {small_m:6.2f} ms, p95 {small_p95:6.2f}; "
                f"{big_reviews} / {big_sessions}: median {big_m:6.2f} ms, p95 {big_p95:6.2f} "
                f"(/healthz p95 {small_h:.2f} / {big_h:.2f} ms)"
            )
            report(
                f"{path} median, {big_reviews} reviews / {big_sessions} sessions vs 1 000 / 10",
                f"{big_m:.2f} vs {small_m:.2f} ms = {big_m / small_m:.2f}×",
                big_m <= 1.5 * small_m,
            )
        big = {"big": clients["big"]}
        clients["big"].post("/api/attention", json={"text": "预热 warm-up"})  # torch imported and the model loaded
        again = alternating(big, drill, rounds)["big"]  # idle once more, right before the loaded run
        loaded, statuses = with_background(servers["big"].url, 4, 0, lambda: alternating(big, drill, rounds)["big"])
        (_, bp95), (_, bh95) = loaded  # type: ignore[misc]
        idle_p95 = again[0][1]
        print(
            f"  while 4 clients hammer /api/attention ({len(statuses)} requests, statuses {sorted(set(statuses))}): "
            f"drill p95 {bp95:.2f} ms (idle just before: {idle_p95:.2f} ms), /healthz p95 {bh95:.2f} ms"
        )
        report(
            "drill round-trip p95 under 4 /api/attention clients ≤ 2× idle",
            f"{bp95:.2f} / {idle_p95:.2f} ms = {bp95 / idle_p95:.1f}×",
            bp95 <= 2 * idle_p95,
        )


def section_visualizer(rounds: int) -> None:
    print("\n== visualizer ==", flush=True)
    with served_server() as server:
        url = server.url
        with httpx.Client(base_url=url, timeout=120) as client:
            settle(client, server.pid)
            counter = iter(range(10**9))

            def fragment() -> float:
                text = sentence(500_000 + next(counter), 32)
                query = urlencode({"text": text})
                ms, r = timed_request(client, "GET", f"/visualize/attention?{query}", headers=HX)
                if r.status_code != 200:
                    raise SystemExit(f"fragment -> {r.status_code}")
                return ms

            for _ in range(5):
                fragment()
            idle, bare = paired(client, fragment, rounds)
            (im, ip95), (_, hp95) = median_p95(idle), median_p95(bare)
            print(f"  new 32-character sentence, idle: median {im:.1f} ms, p95 {ip95:.1f} ms; /healthz p95 {hp95:.2f}")
            report("visualizer fragment, new 32 characters, p95 idle ≤ 60 ms", f"{ip95:.1f} ms", ip95 <= 60)

            def busy_fragments() -> tuple[list[float], list[float]]:
                return paired(client, fragment, rounds)

            (busy, busy_bare), statuses = with_background(url, 2, 1_000_000, busy_fragments)  # type: ignore[misc]
            bm, bp95 = median_p95(busy)
            print(
                f"  with 2 background clients ({len(statuses)} requests, statuses {sorted(set(statuses))}): median "
                f"{bm:.1f} ms, p95 {bp95:.1f} ms; /healthz p95 {percentile(busy_bare, 0.95):.2f} ms"
            )
            report("… with 2 background clients ≤ 2× idle (p95)", f"{bp95:.1f} / {ip95:.1f} ms", bp95 <= 2 * ip95)

            masks = client.get(f"/visualize/masks?{urlencode({'text': sentence(7, 32)})}", headers=HX)
            gz = client.get(
                f"/visualize/masks?{urlencode({'text': sentence(7, 32)})}", headers={**HX, "Accept-Encoding": "gzip"}
            )
            raw_kb = len(masks.content) / 1024
            wire = int(gz.headers.get("content-length", "0")) / 1024 or float("nan")
            print(f"  masks fragment at 32 characters: {raw_kb:.0f} KB, {wire:.0f} KB gzipped on the wire")


def section_memory(tour_sentences: int) -> None:
    print("\n== memory: the server and its model workers ==", flush=True)
    with served_server() as server, httpx.Client(base_url=server.url, timeout=120) as client:
        settle(client, server.pid)
        print(
            f"  idle after start-up (the model loaded in its worker, the example sentences' views computed): "
            f"{memory_line(server.pid)[0]}"
        )
        started = time.perf_counter()
        for n in range(tour_sentences):
            text = sentence(2_000_000 + n, 64)
            for view in VIEWS:
                for kind, layer, head in (("encoder", 0, 0), ("cross", 1, 3)):
                    query = urlencode({"text": text, "kind": kind, "layer": layer, "head": head})
                    r = client.get(f"/visualize/{view}?{query}", headers=HX)
                    if r.status_code != 200:
                        raise SystemExit(f"/visualize/{view} -> {r.status_code}")
        line, pss = memory_line(server.pid)
        print(
            f"  after a tour of every view × 2 heads for {tour_sentences} new 64-character sentences "
            f"({time.perf_counter() - started:.0f} s): {line}"
        )
        report(
            f"memory after a tour of every view at 64 characters ({tour_sentences} sentences), server + model "
            "workers (PSS: shared pages counted once)",
            f"{pss:.0f} MB",
            pss <= 500,
        )


def settle(client: httpx.Client, pid: int) -> None:
    """Wait until start-up work is over: the default sentence answers, and the server's CPU use has stopped
    (the warm-up thread computes every default view; the code lab's fork server imports torch)."""
    client.post("/api/attention", json={"text": "我爱自然语言处理"})
    deadline = time.monotonic() + 60
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = cpu_seconds(pid)
        if now - before < 0.05:
            return
        before = now


def section_model(repeats: int) -> None:
    print("\n== model, in-process ==", flush=True)
    import torch

    from model import instrument, load_model
    from model.bench import bench_text

    loaded = load_model()
    text = bench_text(32)

    def timed(run: Callable, threads: int) -> tuple[float, float, float]:
        torch.set_num_threads(threads)
        run(loaded, text)
        times, cpu0 = [], time.process_time()
        for i in range(repeats):
            t0 = time.perf_counter()
            run(loaded, text[i % 7 :] + text[: i % 7])
            times.append((time.perf_counter() - t0) * 1000)
        median, p95 = median_p95(times)
        return median, p95, (time.process_time() - cpu0) * 1000 / repeats

    for name, run in (("record (run + capture)", instrument.record), ("trace (… + plain lists)", instrument.trace)):
        median, p95, cpu = timed(run, 1)
        print(f"  {name}, 32 characters, 1 torch thread: median {median:.1f} ms, p95 {p95:.1f} ms, CPU {cpu:.1f} ms")
        if name.startswith("record"):
            report("one full instrumented model run, 32 characters (median)", f"{median:.1f} ms", median <= 15)
    print("  torch intra-op threads (TORCH_THREADS), record on 32 characters: median / p95 / CPU per run")
    for busy in (0, 2):
        with ExitStack() as spinners:
            for _ in range(busy):
                spinners.enter_context(busy_core())
            for threads in (1, 2):
                median, p95, cpu = timed(instrument.record, threads)
                print(f"    {busy} busy processes, {threads} thread(s): {median:.1f} / {p95:.1f} / {cpu:.1f} ms")
    torch.set_num_threads(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller data (a smoke run)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="run only these sections")
    args = parser.parse_args(argv)
    rounds = 40 if args.quick else 200
    runs = {
        "model": lambda: section_model(20 if args.quick else 60),
        "startup": lambda: section_startup(1 if args.quick else 3),
        "visualizer": lambda: section_visualizer(rounds // 4 if args.quick else 60),
        "memory": lambda: section_memory(3 if args.quick else 24),
        "data": lambda: section_data(rounds, 10_000 if args.quick else 100_000, 100 if args.quick else 1_000),
    }
    for name in args.only:
        runs[name]()
    print("\n== summary (issue 15) ==")
    for figure, measured, result in RESULTS:
        print(f"  {result:<6}  {figure}: {measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
