"""Start-up: launch uvicorn as `make run` does and time until the first `/healthz` 200, then the first visualizer run.

    .venv/bin/python benchmarks/startup.py [--runs 3]

Figures per launch (a new temporary database the first time, so migrations really run; restarts after): `Popen` to
the first `/healthz` 200 (aim ≤ 3 s), then to the first `POST /api/attention` answer for the default
sentence (the model loads in the background after the server listens), and a bare `/healthz` for scale.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _harness import ROOT, free_port

# `make run`'s command line (the Makefile's `run` target), on a free port and with a temporary database.
MAKE_RUN_ARGS = ("--limit-concurrency", "128", "--timeout-keep-alive", "5")


def launch_once(tmp: Path) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'startup.db'}",
        "SECRET_FILE": str(tmp / "startup.secret"),
        "SERVE_HOST": "127.0.0.1",
        "PATH": str(Path(sys.executable).parent),
    }
    uvicorn = Path(sys.executable).parent / "uvicorn"
    command = [str(uvicorn), "app.main:app", "--host", "127.0.0.1", "--port", str(port), *MAKE_RUN_ARGS]
    started = time.monotonic()
    log = (tmp / "startup.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"uvicorn exited: {(tmp / 'startup.log').read_text()[-2000:]}")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.01)
            healthy = time.monotonic() - started
            response = client.post("/api/attention", json={"text": "我爱自然语言处理"})
            if response.status_code != 200:
                raise SystemExit(f"/api/attention -> {response.status_code}: {response.text[:300]}")
            first_model = time.monotonic() - started
            bare = []
            for _ in range(20):
                t0 = time.perf_counter()
                client.get("/healthz")
                bare.append((time.perf_counter() - t0) * 1000)
        return {"healthy": healthy, "first_model": first_model, "healthz_ms": statistics.median(bare)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'launch':>6} {'→ /healthz 200 (s)':>19} {'→ first model answer (s)':>25} {'/healthz median (ms)':>21}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:  # the first launch creates the database, the others reopen it
        for i in range(args.runs):
            r = launch_once(Path(tmp))
            results.append(r)
            what = "new database" if i == 0 else "restart"
            print(f"{i + 1:>6} {r['healthy']:>19.2f} {r['first_model']:>25.2f} {r['healthz_ms']:>21.2f}  {what}")
    worst = max(r["healthy"] for r in results)
    print(
        f"\nlaunch → healthy, worst of {args.runs}: {worst:.2f} s ({'meets' if worst <= 3 else 'misses'} the 3 s aim)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
