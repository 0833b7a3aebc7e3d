"""Benchmark import and export of the drill state: `.venv/bin/python benchmarks/drill_import.py`.

Valid export files of 1 000, 10 000 and 30 000 reviews (built with the app's scheduler, as
`tests/utils/drill_files.py` does for the tests) are

- validated in-process (`drill_transfer.parse_export`: JSON, field checks, the snapshot chain) — the cost
  the domain checks add;
- imported with `POST /api/import` and exported with `GET /api/export` against a real uvicorn;

and the median and fastest of `--repeat` runs are printed in milliseconds, with the file size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta

import httpx
from _harness import served_app, timed_request

from app.services import drill_transfer
from tests.utils.drill_files import export_file

JSON = {"content-type": "application/json"}


def _figures(label: str, values: list[float]) -> str:
    return f"{label} median {statistics.median(values):8.0f} ms, fastest {min(values):8.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,30000", help="review counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with served_app() as url, httpx.Client(base_url=url, timeout=300) as client:
        for size in (int(s) for s in args.sizes.split(",")):
            start = datetime.now(UTC) - timedelta(hours=size + 48)
            body = json.dumps(export_file(reviews=size, start=start, step=timedelta(hours=1))).encode()
            parse, imports, exports = [], [], []
            for _ in range(args.repeat):
                began = time.perf_counter()
                drill_transfer.parse_export(body)
                parse.append((time.perf_counter() - began) * 1000)
                elapsed, response = timed_request(client, "POST", "/api/import", content=body, headers=JSON)
                response.raise_for_status()
                imports.append(elapsed)
                elapsed, response = timed_request(client, "GET", "/api/export")
                response.raise_for_status()
                exports.append(elapsed)
            print(f"{size:>6} reviews, {len(body) / 1e6:5.1f} MB")
            print("  " + _figures("validate (in-process)", parse))
            print("  " + _figures("POST /api/import     ", imports))
            print("  " + _figures("GET /api/export      ", exports))


if __name__ == "__main__":
    main()
