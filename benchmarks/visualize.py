"""Latency and page weight of the live attention visualizer, measured against a real uvicorn server.

    .venv/bin/python benchmarks/visualize.py            # starts its own server (temp DB, free port)
    .venv/bin/python benchmarks/visualize.py --url http://127.0.0.1:8000   # or measure a running one

Figures: the htmx fragment of each view for 8/32/64-character inputs — "cold" (a sentence the
server has not seen: the model runs) and "warm" (same sentence, another head/layer: the cached
trace is re-rendered) — as median and p95; and the page weight split into the page's own
HTML/CSS/JS and the vendored libraries. Aim: warm p95 ≤ 60 ms at 32 characters; own JS+CSS ≤ 100 KB.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from urllib.parse import urlencode

import httpx
from _harness import median_p95, served_app, timed_request

from app.services.visualize.state import VIEWS  # every visualizer view, as the app lists them

SEED_TEXT = "注意力机制让每个词元都能看到其他所有词元，KV Cache 让解码更快。Transformer 2017 Attention is all you need"
OWN_ASSETS = ("/static/css/app.css", "/static/css/visualize.css", "/static/js/app.js", "/static/js/visualize.js")
VENDOR_ASSETS = (
    "/static/vendor/htmx/htmx.min.js",
    "/static/vendor/katex/katex.min.js",
    "/static/vendor/katex/katex.min.css",
)
HX = {"HX-Request": "true", "HX-Trigger": "vz-form"}


def text_of(length: int, variant: int) -> str:
    """A mixed Chinese/English sentence of exactly ``length`` characters; variants differ in their start."""
    rotated = SEED_TEXT[variant % len(SEED_TEXT) :] + SEED_TEXT[: variant % len(SEED_TEXT)]
    return (rotated * (length // len(rotated) + 1))[:length]


def timed_get(client: httpx.Client, path: str, params: dict) -> tuple[float, int]:
    elapsed, r = timed_request(client, "GET", f"{path}?{urlencode(params, doseq=True)}", headers=HX)
    if r.status_code != 200:
        raise SystemExit(f"{path} {params} -> HTTP {r.status_code}: {r.text[:300]}")
    return elapsed, len(r.content)


def measure(url: str, cold_runs: int, warm_runs: int) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        heads = client.post("/api/attention", json={"text": "a"}).json()
        n_heads, n_layers = heads["n_heads"], heads["n_layers"]["encoder"]
        timed_get(client, "/visualize/attention", {"text": "预热 warm-up"})  # loads the model once

        print(f"server: {url}   model: {n_layers} layers × {n_heads} heads, d_model={heads['d_model']}")
        print("\nattention-heatmap fragment (htmx), ms")
        print(f"{'chars':>5} {'cold median':>12} {'cold p95':>9} {'warm median':>12} {'warm p95':>9} {'bytes':>8}")
        summary = {}
        for length in (8, 32, 64):
            cold, warm, size = [], [], 0
            for v in range(cold_runs):
                ms, size = timed_get(
                    client, "/visualize/attention", {"text": text_of(length, 1000 * length + v), "task": "copy"}
                )
                cold.append(ms)
            text = text_of(length, 7)
            timed_get(client, "/visualize/attention", {"text": text})
            for i in range(warm_runs):
                params = {
                    "text": text,
                    "kind": ("encoder", "decoder", "cross")[i % 3],
                    "layer": i % n_layers,
                    "head": i % n_heads,
                }
                ms, size = timed_get(client, "/visualize/attention", params)
                warm.append(ms)
            summary[length] = median_p95(warm)
            cold_median, cold_p95 = median_p95(cold)
            warm_median, warm_p95 = summary[length]
            print(f"{length:>5} {cold_median:>12.1f} {cold_p95:>9.1f} {warm_median:>12.1f} {warm_p95:>9.1f} {size:>8}")

        print("\nevery view at 32 characters, warm (trace cached; switching heads), ms")
        print(f"{'view':>20} {'median':>8} {'p95':>8} {'bytes':>8}")
        text = text_of(32, 11)
        for view in VIEWS:
            timed_get(client, f"/visualize/{view}", {"text": text, "task": "reverse"})  # first visit computes extras
            times, size = [], 0
            for i in range(max(5, warm_runs // 2)):
                params = {"text": text, "task": "reverse", "kind": "cross", "layer": i % n_layers, "head": i % n_heads}
                ms, size = timed_get(client, f"/visualize/{view}", params)
                times.append(ms)
            median, p95 = median_p95(times)
            print(f"{view:>20} {median:>8.1f} {p95:>8.1f} {size:>8}")

        page = client.get("/visualize/attention", params={"text": "我爱自然语言处理"})
        own = {path: len(client.get(path).content) for path in OWN_ASSETS}
        vendor = {path: len(client.get(path).content) for path in VENDOR_ASSETS}
        own_cssjs = own["/static/css/visualize.css"] + own["/static/js/visualize.js"]
        print("\npage weight (uncompressed)")
        print(f"  HTML of /visualize/attention (8 characters): {len(page.content) / 1024:.1f} KB")
        for path, size in own.items():
            print(f"  {path}: {size / 1024:.1f} KB")
        print(
            f"  visualizer's own CSS + JS: {own_cssjs / 1024:.1f} KB (aim ≤ 100 KB); with site-wide app.css/app.js: "
            f"{sum(own.values()) / 1024:.1f} KB"
        )
        print(
            f"  vendored (counted separately): {sum(vendor.values()) / 1024:.1f} KB "
            + ", ".join(f"{Path(p).name} {s / 1024:.0f} KB" for p, s in vendor.items())
        )
        median32, p95_32 = summary[32]
        verdict = "meets" if p95_32 <= 60 else "misses"
        print(f"\n32 characters, warm p95 = {p95_32:.1f} ms: {verdict} the 60 ms aim")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="measure an already running server instead of starting one")
    parser.add_argument("--cold", type=int, default=8, help="distinct unseen sentences per length")
    parser.add_argument("--warm", type=int, default=40, help="requests per length with the trace cached")
    args = parser.parse_args(argv)
    if args.url:
        measure(args.url.rstrip("/"), args.cold, args.warm)
        return 0
    with served_app() as url:
        measure(url, args.cold, args.warm)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
