"""Fuzz every route with hostile input: never a 5xx, JSON errors carry `detail`, HTML never echoes injected markup.

The plan below names every route of the app (a new route without a plan fails `test_every_route_has_a_fuzz_plan`).
Each route gets a handful of requests drawn with a fixed seed from the same corpus: wrong types, missing fields,
huge and negative numbers, NaN/Infinity, long strings (under the body limit), emoji, RTL, NUL and control characters,
lone surrogates (escaped in JSON), HTML/JS injection, odd path segments, repeated query keys, and bodies in the
wrong encoding (JSON where a form is expected and vice versa, a wrong or broken content type).
"""

from __future__ import annotations

import gc
import json
import random
import re
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.utils.csrf import with_csrf
from tests.utils.routes import walk_routes

SEED = 20261102
SCRIPT = "<script>fuzz(1)</script>"
IMG = '"><img src=x onerror=fuzz(2)>'
# Escaped output (&lt;script&gt;, &lt;img …) never matches; a raw echo of either payload does.
INJECTED = re.compile(r"<script>fuzz|<img src=x onerror", re.IGNORECASE)
JSON_PATHS = ("/api/", "/healthz", "/openapi.json")

# Known failures the fuzz run sets aside while their fix waits (none now). Add one only together with a
# strict-xfail reproduction at the end of this module, and delete both when the fix lands.
KNOWN_ELSEWHERE: dict[str, re.Pattern[str]] = {}

HOSTILE_TEXT = [
    SCRIPT,
    IMG,
    f"答案 {SCRIPT} 与 {IMG}",
    "</textarea><script>fuzz(1)</script>",
    "' onmouseover='fuzz(3)' x='",
    "javascript:fuzz(4)",
    "{{ 7 * 7 }} {% if 1 %}x{% endif %} ${7*7}",
    "' OR 1=1; DROP TABLE drill_card; --",
    "a\x00b",
    "\x00",
    "\x01\x02\x07\x08\x0b\x0c\x1b[31m\x7f",
    "\r\n\r\nSet-Cookie: x=1",
    "🧠🤖👩‍💻🏳️‍🌈",
    "\u202eevil\u202c \u200f مرحبا بالعالم \u200e שלום",
    "\ufeff\u200b\u2028\u2029",
    "Z̴̡̛a̶͎̓l̷̙̈g̵̣̈́o̷͓͝",
    "２²³¹½",  # digits str.isdigit() accepts but int() refuses
    "٣",
    "q01",
    "Q01 ",
    "   ",
    "",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "-Infinity",
    "null",
    "true",
    "[]",
    "{}",
    "%00",
    "%ff%fe",
    "../../etc/passwd",
    "x" * 5_000,
    "长" * 30_000,
]
QUERY_TEXT = [t if len(t) < 6_000 else t[:2_000] for t in HOSTILE_TEXT]  # URLs stop at 64 KB in the client
SURROGATES = ["\ud800", "a\udfffb", "\udc00\ud83d"]  # only JSON can carry these (escaped as \\udXXX)
PATH_VALUES = [
    "%00",
    "..",
    "%2e%2e",
    "..%2f..%2fapp%2fconfig.py",
    "%2e%2e%2f%2e%2e%2fpyproject.toml",
    "9" * 400,
    "1" * 13,
    "-1",
    "0",
    "1.0",
    "1e3",
    "%C2%B2",  # "²": isdigit() is True, int() raises
    "%D9%A3",  # "٣" (Arabic-Indic three): int() accepts it
    "%EF%BC%91",  # "１" (fullwidth one)
    "%F0%9F%A7%A0",
    "%3Cscript%3Efuzz(1)%3C%2Fscript%3E",
    "%22%3E%3Cimg%20src%3Dx%20onerror%3Dfuzz(2)%3E",
    "%ff",
    "%ED%A0%80",  # a surrogate encoded as UTF-8 (invalid)
    "%20",
    "q01%00",
    "Q01",
    "x" * 3000,
]
JSON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    3,
    2**63,
    10**400,
    -(10**400),
    1.5,
    3.0,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "3",
    [],
    [1, "a", None],
    {},
    {"0": "covered", "x": [1]},
    *SURROGATES,
    *HOSTILE_TEXT,
]
NOT_AN_OBJECT: list[Any] = [None, 0, 1e308, "text", [], [{"a": 1}], float("nan"), SCRIPT]
BROKEN_BODIES = [
    b"",
    b"{",
    b'{"a": }',
    b"\xff\xfe\x00garbage",
    b'{"text": "\\ud800"',
    b"[" * 5_000,
    b"%zz=%%&&==",
    b"\x00" * 64,
]
WRONG_CONTENT_TYPES = [
    "text/plain",
    "application/xml",
    "multipart/form-data",  # no boundary
    "multipart/form-data; boundary=zzz",  # a boundary that never appears
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded; charset=utf-16",
    b"\xe9/\xe9",  # not ASCII
]


@dataclass
class Case:
    """One request: `kwargs` go straight to `TestClient.request`."""

    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def describe(self) -> str:
        shown = {k: (repr(v)[:160] + "…" if len(repr(v)) > 160 else repr(v)) for k, v in self.kwargs.items()}
        return f"{self.method} {self.url[:160]} {self.note} {shown}"


@dataclass
class Ctx:
    """Live ids the fuzzer mixes in so requests also reach the code behind the id checks."""

    rng: random.Random
    mock_id: int = 0
    question_ids: list[str] = field(default_factory=list)
    token: str = ""


def dumps(value: Any) -> bytes:
    """JSON the way a hostile client may send it: NaN/Infinity literals, lone surrogates as \\udXXX escapes."""
    return json.dumps(value, allow_nan=True, ensure_ascii=True).encode()


def pick(rng: random.Random, values: list[Any], k: int) -> list[Any]:
    return rng.sample(values, min(k, len(values)))


def header_value(rng: random.Random) -> dict[str, str]:
    """Sometimes an htmx request, with a hostile (latin-1 safe) trigger id."""
    if rng.random() < 0.5:
        return {}
    trigger = rng.choice(["vz-form", "vz-kv-1", SCRIPT, IMG, "x" * 200, ""])
    return {"HX-Request": "true", "HX-Trigger": trigger}


# ---------------------------------------------------------------- case builders


def path_cases(ctx: Ctx, template: str, methods: tuple[str, ...] = ("GET",), k: int = 6) -> Iterator[Case]:
    """The template filled with hostile segments (and once with live ids), for each method."""
    names = re.findall(r"{(\w+)}", template)
    valid = {"mock_id": str(ctx.mock_id), "question_id": ctx.rng.choice(ctx.question_ids), "slug": "attention"}
    valid["calculator"] = "kv-cache"
    for method in methods:
        for i in range(k):
            url = template
            for name in names:
                # The first case uses live values; later ones change at least one segment.
                hostile = i > 0 and (name == names[-1] or ctx.rng.random() < 0.5)
                url = url.replace("{" + name + "}", ctx.rng.choice(PATH_VALUES) if hostile else valid[name])
            yield Case(method, url, {"headers": header_value(ctx.rng)})


MAX_QUERY_CHARS = 60_000  # httpx refuses a query component over 65 536 characters before sending anything


def query_cases(ctx: Ctx, path: str, names: list[str], k: int = 8) -> Iterator[Case]:
    """Hostile values for the named (and unknown) query keys, keys repeated, values long."""
    for _ in range(k):
        params: list[tuple[str, str]] = []
        for name in [*names, "unknown", SCRIPT]:
            if ctx.rng.random() < 0.7:
                repeats = ctx.rng.choice([1, 1, 2, 5])
                params += [(name, ctx.rng.choice(QUERY_TEXT)) for _ in range(repeats)]
        while len(urlencode(params)) > MAX_QUERY_CHARS:  # beyond what httpx (and browsers) send at all
            params.pop()
        yield Case("GET", path, {"params": params, "headers": header_value(ctx.rng)})
    # Raw query strings that no client library would build.
    for raw in ["%zz=%ff&&=&%00=%00", "a=" + "%E9%95%BF" * 2_000, "=" * 300 + "&" * 300, "%ED%A0%80=%ED%A0%80"]:
        yield Case("GET", f"{path}?{raw}")


def json_cases(ctx: Ctx, method: str, path: str, valid: dict[str, Any], k: int = 10) -> Iterator[Case]:
    """Mutations of a valid JSON body: a field swapped or dropped, an unknown field, the wrong shape or encoding."""
    rng = ctx.rng
    headers = {"content-type": "application/json"}
    yield Case(method, path, {"content": dumps(valid), "headers": headers}, "valid")
    for _ in range(k):
        body = dict(valid)
        for name in pick(rng, list(valid), rng.choice([1, 1, 2])):
            body[name] = rng.choice(JSON_VALUES)
        if body and rng.random() < 0.3:
            del body[rng.choice(list(body))]
        if rng.random() < 0.2:
            body[rng.choice([SCRIPT, "\ud800", "extra", "x" * 500])] = rng.choice(JSON_VALUES)
        yield Case(method, path, {"content": dumps(body), "headers": headers}, "mutated")
    yield Case(method, path, {"content": dumps(rng.choice(NOT_AN_OBJECT)), "headers": headers}, "not an object")
    yield Case(method, path, {"content": rng.choice(BROKEN_BODIES), "headers": headers}, "broken JSON")
    yield Case(method, path, {"content": b'{"a":' * 2_000 + b"1" + b"}" * 2_000, "headers": headers}, "deep")
    big = {name: "长" * 150_000 if i == 0 else value for i, (name, value) in enumerate(valid.items())}
    yield Case(method, path, {"content": dumps(big), "headers": headers}, "~900 KB")
    # A form where JSON is expected, and JSON under a wrong content type.
    yield Case(method, path, {"data": {k: str(v) for k, v in valid.items()}}, "form instead of JSON")
    ctype = rng.choice(WRONG_CONTENT_TYPES)
    yield Case(method, path, {"content": dumps(valid), "headers": {"content-type": ctype}}, "wrong content type")
    yield Case(method, path, {}, "no body")


def form_cases(ctx: Ctx, method: str, path: str, valid: dict[str, str], k: int = 8) -> Iterator[Case]:
    """Mutations of a valid form: hostile values, dropped and repeated fields, JSON or multipart instead.
    The CSRF token stays intact (as the app's own pages send it) so the hostile values reach the handler."""
    rng = ctx.rng
    valid = with_csrf(valid)
    yield Case(method, path, {"data": valid, "headers": header_value(rng)}, "valid")
    for _ in range(k):
        fields: list[tuple[str, str]] = []
        for name, value in valid.items():
            if name == "csrf_token":
                fields.append((name, value))
                continue
            roll = rng.random()
            if roll < 0.15:
                continue  # missing
            if roll < 0.3:
                fields += [(name, rng.choice(HOSTILE_TEXT)), (name, value)]  # repeated key
            elif roll < 0.8:
                fields.append((name, rng.choice(HOSTILE_TEXT)))
            else:
                fields.append((name, value))
        if rng.random() < 0.3:
            fields.append((rng.choice([SCRIPT, "extra", "\x00"]), rng.choice(HOSTILE_TEXT)))
        # httpx sends a list of pairs as the raw form body, repeats included.
        body = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in fields).encode()
        headers = {"content-type": "application/x-www-form-urlencoded", **header_value(rng)}
        yield Case(method, path, {"content": body, "headers": headers}, "form")
    yield Case(method, path, {"files": {"upload": ("x.txt", b"\x00\xff", "text/plain")}, "data": valid}, "multipart")
    yield Case(method, path, {"content": dumps(valid), "headers": {"content-type": "application/json"}}, "JSON")
    for ctype in pick(rng, WRONG_CONTENT_TYPES, 2):
        yield Case(method, path, {"content": rng.choice(BROKEN_BODIES), "headers": {"content-type": ctype}}, "ctype")
    yield Case(method, path, {"content": b"%zz=%ff&text=%E9%95", "headers": {"content-type": FORM}}, "bad escapes")
    yield Case(method, path, {"data": {"text": "长" * 60_000, **valid}}, "~540 KB form")
    yield Case(method, path, {}, "no body")


FORM = "application/x-www-form-urlencoded"
CODE_ANSWER = "import torch\n\ndef softmax(x, dim=-1):\n    return torch.exp(x) / torch.exp(x).sum(dim, keepdim=True)\n"


def import_cases(ctx: Ctx, method: str, path: str, multipart: bool) -> Iterator[Case]:
    """Export files that are not: broken JSON, wrong shapes and types, hostile ids, surrogates, huge numbers."""
    rng = ctx.rng
    qid = ctx.question_ids[0]
    card = {
        "question_id": qid,
        "state": 2,
        "step": None,
        "stability": 3.2,
        "difficulty": 5.0,
        "due": "2026-11-05T09:00:00+00:00",
        "last_review": "2026-11-02T09:00:00+00:00",
        "lapses": 0,
        "reps": 1,
    }
    review = {
        "question_id": qid,
        "rating": 3,
        "reviewed_at": "2026-11-02T09:00:00+00:00",
        "duration_ms": 1000,
        "source": "drill",
        "review_token": "t1",
    }
    valid = {
        "format": "transformer-prep-drill",
        "version": 1,
        "settings": {"desired_retention": 0.9, "new_per_day": 10, "interview_date": None},
        "cards": [card],
        "reviews": [review],
    }
    bodies: list[bytes] = [dumps(valid), *BROKEN_BODIES, dumps(rng.choice(NOT_AN_OBJECT))]
    for _ in range(12):
        doc = json.loads(json.dumps(valid))
        target = rng.choice([doc, doc["settings"], doc["cards"][0], doc["reviews"][0]])
        target[rng.choice(list(target))] = rng.choice(JSON_VALUES)
        if rng.random() < 0.3:
            rng.choice([doc["cards"], doc["reviews"]]).append(rng.choice(JSON_VALUES))
        bodies.append(dumps(doc))
    for body in bodies:
        if multipart:
            yield Case(method, path, {"files": {"file": ("export.json", body, "application/json")}}, "import")
        else:
            yield Case(method, path, {"content": body, "headers": {"content-type": "application/json"}}, "import")
    if multipart:
        yield from form_cases(ctx, method, path, {"file": "not a file"}, k=3)
    else:
        yield Case(method, path, {"data": {"file": "x"}}, "form instead of JSON")


# ---------------------------------------------------------------- the plan: every route


def _mock_api(template: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Ctx], Iterator[Case]]:
    return lambda ctx: path_cases(ctx, template, methods)


def _mock_json(template: str, valid: Callable[[Ctx], dict[str, Any]]) -> Callable[[Ctx], Iterator[Case]]:
    def cases(ctx: Ctx) -> Iterator[Case]:
        yield from path_cases(ctx, template, ("POST",), k=3)
        live = template.replace("{mock_id}", str(ctx.mock_id)).replace("{question_id}", ctx.question_ids[0])
        yield from json_cases(ctx, "POST", live, valid(ctx))

    return cases


def _mock_form(template: str, valid: Callable[[Ctx], dict[str, str]]) -> Callable[[Ctx], Iterator[Case]]:
    def cases(ctx: Ctx) -> Iterator[Case]:
        yield from path_cases(ctx, template, ("POST",), k=3)
        yield from form_cases(ctx, "POST", template.replace("{mock_id}", str(ctx.mock_id)), valid(ctx))

    return cases


def _static(ctx: Ctx) -> Iterator[Case]:
    for tail in ["css/app.css", "%2e%2e/app/config.py", "..%2f..%2fpyproject.toml", "%00", "x" * 2000, "%ff", ".."]:
        yield Case("GET", f"/static/{tail}")


MOCK = "/api/mock-sessions/{mock_id}"
ANSWER = MOCK + "/answers/{question_id}"

KV_FIELDS = [
    *("layers", "query_heads", "kv_heads", "head_dim", "seq_len", "batch", "bytes_per_value"),
    *("latent_dim", "rope_dim"),
]
TRAINING_FIELDS = [
    *("params", "precision", "optimizer", "zero_stage", "devices", "activation_checkpointing"),
    *("layers", "hidden", "heads", "seq_len", "micro_batch"),
]

PLAN: dict[tuple[str, str], Callable[[Ctx], Iterator[Case]]] = {
    ("GET", "/openapi.json"): lambda ctx: query_cases(ctx, "/openapi.json", [], k=1),
    ("GET", "/static"): _static,
    ("GET", "/docs"): lambda ctx: query_cases(ctx, "/docs", [], k=1),
    ("GET", "/healthz"): lambda ctx: query_cases(ctx, "/healthz", [], k=1),
    ("GET", "/"): lambda ctx: query_cases(ctx, "/", ["focus"], k=2),
    ("GET", "/favicon.ico"): lambda ctx: query_cases(ctx, "/favicon.ico", [], k=1),
    ("GET", "/questions"): lambda ctx: query_cases(ctx, "/questions", ["category", "difficulty", "q"], k=12),
    ("GET", "/questions/{question_id}"): lambda ctx: path_cases(ctx, "/questions/{question_id}"),
    ("GET", "/api/questions"): lambda ctx: query_cases(ctx, "/api/questions", ["category"], k=2),
    ("GET", "/api/questions/{question_id}"): lambda ctx: path_cases(ctx, "/api/questions/{question_id}"),
    ("GET", "/notes"): lambda ctx: query_cases(ctx, "/notes", [], k=1),
    ("GET", "/notes/{slug}"): lambda ctx: path_cases(ctx, "/notes/{slug}"),
    ("GET", "/drill"): lambda ctx: query_cases(ctx, "/drill", ["focus", "since"], k=10),
    ("POST", "/drill/reveal"): lambda ctx: form_cases(
        ctx,
        "POST",
        "/drill/reveal",
        {
            "question_id": ctx.question_ids[0],
            "review_token": ctx.token,
            "answer": "softmax",
            "reason": "new",
            "focus": "q01,q02",
            "since": "2026-11-01T00:00:00+00:00",
        },
    ),
    ("POST", "/drill/grade"): lambda ctx: form_cases(
        ctx,
        "POST",
        "/drill/grade",
        {
            "question_id": ctx.question_ids[0],
            "review_token": ctx.token,
            "rating": "3",
            "duration_ms": "1200",
            "focus": "q01",
            "since": "",
        },
    ),
    ("POST", "/drill/undo"): lambda ctx: form_cases(ctx, "POST", "/drill/undo", {"focus": "q01", "since": ""}, k=4),
    ("GET", "/api/drill/next"): lambda ctx: query_cases(ctx, "/api/drill/next", [], k=1),
    ("POST", "/api/drill/reviews"): lambda ctx: json_cases(
        ctx,
        "POST",
        "/api/drill/reviews",
        {"question_id": ctx.question_ids[0], "rating": 3, "review_token": ctx.token, "duration_ms": 1000},
    ),
    ("POST", "/api/drill/undo"): lambda ctx: json_cases(ctx, "POST", "/api/drill/undo", {"x": 1}, k=2),
    ("GET", "/api/drill/cards"): lambda ctx: query_cases(ctx, "/api/drill/cards", [], k=1),
    ("GET", "/stats"): lambda ctx: query_cases(ctx, "/stats", [], k=2),
    ("GET", "/api/stats"): lambda ctx: query_cases(ctx, "/api/stats", [], k=1),
    ("GET", "/settings"): lambda ctx: query_cases(ctx, "/settings", [], k=1),
    ("POST", "/settings"): lambda ctx: form_cases(
        ctx,
        "POST",
        "/settings",
        {"desired_retention": "0.9", "new_per_day": "10", "interview_date": "2026-12-15"},
        k=14,
    ),
    ("POST", "/settings/import"): lambda ctx: import_cases(ctx, "POST", "/settings/import", multipart=True),
    ("GET", "/api/settings"): lambda ctx: query_cases(ctx, "/api/settings", [], k=1),
    ("PUT", "/api/settings"): lambda ctx: json_cases(
        ctx, "PUT", "/api/settings", {"desired_retention": 0.9, "new_per_day": 10, "interview_date": "2026-12-15"}, k=16
    ),
    ("GET", "/api/export"): lambda ctx: query_cases(ctx, "/api/export", [], k=1),
    ("POST", "/api/import"): lambda ctx: import_cases(ctx, "POST", "/api/import", multipart=False),
    ("POST", "/api/mock-sessions"): lambda ctx: json_cases(
        ctx,
        "POST",
        "/api/mock-sessions",
        {
            "count": 3,
            "categories": ["attention"],
            "selection": "random",
            "seconds_per_question": 60,
            "practice": True,
            "hard_stop": False,
            "seed": 1,
            "request_id": "fuzz-request-0001",
        },
        k=16,
    ),
    ("GET", "/api/mock-sessions"): lambda ctx: query_cases(ctx, "/api/mock-sessions", [], k=1),
    ("GET", MOCK): _mock_api(MOCK),
    ("POST", MOCK + "/answers"): lambda ctx: (
        c
        for gen in (
            path_cases(ctx, MOCK + "/answers", ("POST",), k=3),
            json_cases(
                ctx,
                "POST",
                f"/api/mock-sessions/{ctx.mock_id}/answers",
                {"question_id": ctx.question_ids[0], "text": "softmax", "seconds": 30, "dont_know": False},
                k=14,
            ),
        )
        for c in gen
    ),
    ("GET", ANSWER): _mock_api(ANSWER),
    ("POST", ANSWER + "/hint"): _mock_api(ANSWER + "/hint", ("POST",)),
    ("POST", ANSWER + "/verdicts"): _mock_json(ANSWER + "/verdicts", lambda ctx: {"index": 0, "verdict": "covered"}),
    ("POST", ANSWER + "/follow-up"): _mock_api(ANSWER + "/follow-up", ("POST",)),
    ("POST", ANSWER + "/follow-up/answer"): _mock_json(
        ANSWER + "/follow-up/answer", lambda ctx: {"text": "因为 softmax", "skip": False}
    ),
    ("POST", ANSWER + "/confirm"): _mock_json(
        ANSWER + "/confirm", lambda ctx: {"verdicts": {"0": "covered"}, "rating": 3}
    ),
    ("POST", MOCK + "/finish"): _mock_api(MOCK + "/finish", ("POST",)),
    ("POST", MOCK + "/discard"): _mock_api(MOCK + "/discard", ("POST",)),
    ("GET", MOCK + "/report"): _mock_api(MOCK + "/report"),
    ("GET", "/mock"): lambda ctx: query_cases(ctx, "/mock", [], k=1),
    ("POST", "/mock"): lambda ctx: form_cases(
        ctx,
        "POST",
        "/mock",
        {
            "count": "3",
            "categories": "attention",
            "selection": "random",
            "seconds": "60",
            "practice": "on",
            "hard_stop": "",
            "request_id": "fuzz-form-request-01",
        },
        k=14,
    ),
    ("GET", "/mock/history"): lambda ctx: query_cases(ctx, "/mock/history", [], k=1),
    ("GET", "/mock/{mock_id}"): lambda ctx: path_cases(ctx, "/mock/{mock_id}", k=8),
    ("POST", "/mock/{mock_id}/answer"): _mock_form(
        "/mock/{mock_id}/answer",
        lambda ctx: {"question_id": ctx.question_ids[0], "text": "softmax", "client_seconds": "12", "dont_know": ""},
    ),
    ("POST", "/mock/{mock_id}/hint"): _mock_form(
        "/mock/{mock_id}/hint", lambda ctx: {"question_id": ctx.question_ids[0]}
    ),
    ("POST", "/mock/{mock_id}/verdict"): _mock_form(
        "/mock/{mock_id}/verdict", lambda ctx: {"question_id": ctx.question_ids[0], "index": "0", "verdict": "missed"}
    ),
    ("POST", "/mock/{mock_id}/follow-up"): _mock_form(
        "/mock/{mock_id}/follow-up", lambda ctx: {"question_id": ctx.question_ids[0]}
    ),
    ("POST", "/mock/{mock_id}/follow-up/answer"): _mock_form(
        "/mock/{mock_id}/follow-up/answer",
        lambda ctx: {"question_id": ctx.question_ids[0], "text": "残差连接", "action": "answer"},
    ),
    ("POST", "/mock/{mock_id}/confirm"): _mock_form(
        "/mock/{mock_id}/confirm", lambda ctx: {"question_id": ctx.question_ids[0], "rating": "3"}
    ),
    ("POST", "/mock/{mock_id}/finish"): lambda ctx: path_cases(ctx, "/mock/{mock_id}/finish", ("POST",)),
    ("POST", "/mock/{mock_id}/discard"): lambda ctx: path_cases(ctx, "/mock/{mock_id}/discard", ("POST",)),
    ("GET", "/mock/{mock_id}/report"): lambda ctx: path_cases(ctx, "/mock/{mock_id}/report"),
    ("GET", "/visualize"): lambda ctx: query_cases(
        ctx,
        "/visualize",
        ["view", "text", "task", "kind", "layer", "head", "others", "wrong", "steps", "row", "dims"],
        k=14,
    ),
    ("GET", "/visualize/{slug}"): lambda ctx: (
        c
        for gen in (
            path_cases(ctx, "/visualize/{slug}"),
            query_cases(ctx, "/visualize/kv-cache", ["text", "steps"], k=1),
        )
        for c in gen
    ),
    ("POST", "/api/attention"): lambda ctx: json_cases(
        ctx, "POST", "/api/attention", {"text": "hello", "task": "copy", "kind": "encoder", "layer": 0, "head": 0}, k=14
    ),
    ("GET", "/api/positional-encoding"): lambda ctx: query_cases(
        ctx, "/api/positional-encoding", ["length", "d_model"]
    ),
    ("POST", "/api/check"): lambda ctx: json_cases(
        ctx, "POST", "/api/check", {"question_id": "q04", "text": "不需要除以 √d_k，softmax 也不会饱和。"}, k=14
    ),
    ("GET", "/calculators"): lambda ctx: query_cases(ctx, "/calculators", [], k=1),
    ("GET", "/calculators/{calculator}"): lambda ctx: (
        c
        for gen in (
            path_cases(ctx, "/calculators/{calculator}", k=4),
            query_cases(ctx, "/calculators/kv-cache", [*KV_FIELDS, "preset"], k=8),
            query_cases(ctx, "/calculators/training-memory", [*TRAINING_FIELDS, "preset"], k=8),
        )
        for c in gen
    ),
    ("GET", "/api/calculators/kv-cache"): lambda ctx: query_cases(
        ctx, "/api/calculators/kv-cache", [*KV_FIELDS, "preset"], k=10
    ),
    ("GET", "/api/calculators/training-memory"): lambda ctx: query_cases(
        ctx, "/api/calculators/training-memory", [*TRAINING_FIELDS, "preset"], k=10
    ),
    ("GET", "/code"): lambda ctx: query_cases(ctx, "/code", [], k=1),
    ("GET", "/code/{slug}"): lambda ctx: (
        c for gen in (path_cases(ctx, "/code/{slug}", k=4), path_cases(ctx, "/code/softmax", k=1)) for c in gen
    ),
    ("POST", "/code/{slug}/runs"): lambda ctx: form_cases(
        ctx, "POST", "/code/softmax/runs", {"code": CODE_ANSWER, "request_id": "run-fuzz-00000001"}
    ),
    ("POST", "/code/{slug}/solution"): lambda ctx: (
        c
        for gen in (
            path_cases(ctx, "/code/{slug}/solution", ("POST",), k=3),
            form_cases(ctx, "POST", "/code/sdpa/solution", {}, k=2),
        )
        for c in gen
    ),
    ("POST", "/code/{slug}/rating"): lambda ctx: form_cases(
        ctx, "POST", "/code/softmax/rating", {"rating": "3", "review_token": "1.c01.0.0123456789abcdef"}
    ),
    ("GET", "/api/code/exercises"): lambda ctx: query_cases(ctx, "/api/code/exercises", [], k=1),
    ("GET", "/api/code/exercises/{slug}"): lambda ctx: path_cases(ctx, "/api/code/exercises/{slug}"),
    ("POST", "/api/code/exercises/{slug}/ratings"): lambda ctx: json_cases(
        ctx, "POST", "/api/code/exercises/softmax/ratings", {"rating": 3, "review_token": "1.c01.0.0123456789abcdef"}
    ),
    ("POST", "/api/code/exercises/{slug}/runs"): lambda ctx: json_cases(
        ctx, "POST", "/api/code/exercises/softmax/runs", {"code": CODE_ANSWER, "request_id": "run-fuzz-00000002"}
    ),
}


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route, descending into included routers (old and new FastAPI router layouts)."""
    found = set()
    for route in walk_routes():
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            if method != "HEAD":
                found.add((method, route.path))
    return found


# ---------------------------------------------------------------- checks


def problems(case: Case, response: Any) -> list[str]:
    """What is wrong with one response (nothing, for a clean 2xx/3xx/4xx)."""
    found: list[str] = []
    status = response.status_code
    ctype = response.headers.get("content-type", "")
    if status >= 500:
        found.append(f"server error {status}: {response.text[:300]!r}")
        return found
    path = case.url.split("?")[0]
    if path.startswith(JSON_PATHS) and not 300 <= status < 400:
        if not ctype.startswith("application/json"):
            found.append(f"JSON route answered {status} {ctype!r}")
        elif 400 <= status < 500:
            body = response.json()
            if not (isinstance(body, dict) and body.get("detail")):
                found.append(f"{status} without a detail: {response.text[:200]!r}")
    if ctype.startswith("text/html"):
        match = INJECTED.search(response.text)
        if match:
            start = max(0, match.start() - 120)
            found.append(f"unescaped injection in HTML {status}: …{response.text[start : match.end() + 40]!r}")
    if path.startswith("/static/") and ("DATABASE_URL" in response.text or "[project]" in response.text):
        found.append("static route served a file outside static/")
    return found


def prepare(client: Any, rng: random.Random) -> Ctx:
    """A practice mock interview and a drill card with its review token, so fuzzed ids can hit live rows."""
    mock = client.post("/api/mock-sessions", json={"count": 3, "seed": 7, "practice": True})
    assert mock.status_code == 201, mock.text
    data = mock.json()
    card = client.get("/api/drill/next").json()
    question_ids = [q["question_id"] for q in data["questions"]] if "questions" in data else []
    if not question_ids:
        question_ids = [data["current"]["question_id"]]
    return Ctx(rng=rng, mock_id=data["id"], question_ids=question_ids, token=card["review_token"])


def is_multipart(case: Case) -> bool:
    ctype = case.kwargs.get("headers", {}).get("content-type", "")
    return "files" in case.kwargs or (isinstance(ctype, str) and ctype.startswith("multipart/"))


ESCAPED = re.compile(r"&lt;script&gt;fuzz|&lt;img src=x onerror|&#34;&gt;&lt;img|&quot;&gt;&lt;img")


def send(client: Any, case: Case, echoes: list[str] | None = None) -> list[str]:
    """Send one case; what went wrong, including an exception the TestClient re-raises (a 500 in production).
    An HTML answer that shows an injected payload escaped is noted in `echoes` (the check above had a target)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            response = client.request(case.method, case.url, follow_redirects=False, **case.kwargs)
        except Exception as exc:
            frames = [f.name for f in traceback.extract_tb(exc.__traceback__) if "/app/" in f.filename]
            return [f"server error (500): {type(exc).__name__}: {str(exc)[:300]} via {' > '.join(frames[-3:])}"]
        if is_multipart(case):
            gc.collect()  # an upload's temporary file that nobody closed warns when collected
    found = problems(case, response)
    html = response.headers.get("content-type", "").startswith("text/html")
    if echoes is not None and html and ESCAPED.search(response.text):
        echoes.append(case.url)
    found += [f"leaked an upload: {w.message}" for w in caught if issubclass(w.category, ResourceWarning)]
    return found


def run(client: Any, keys: list[tuple[str, str]], seed: int) -> tuple[int, list[str], list[str], list[str]]:
    """Every case of the given routes: (requests sent, new failures, failures already reported elsewhere,
    URLs whose HTML showed an injected payload escaped)."""
    rng = random.Random(seed)
    ctx = prepare(client, rng)
    sent = 0
    failures: list[str] = []
    known: list[str] = []
    echoes: list[str] = []
    gc.collect()
    gc.freeze()  # later collections scan only what the fuzzed requests created: ~1 ms instead of ~150 ms
    try:
        for key in keys:
            for case in PLAN[key](ctx):
                sent += 1
                for problem in send(client, case, echoes):
                    text = f"{case.describe()}\n    → {problem}"
                    (known if any(p.search(text) for p in KNOWN_ELSEWHERE.values()) else failures).append(text)
    finally:
        gc.unfreeze()
    return sent, failures, known, echoes


GROUPS = {
    "pages-and-questions": [
        k
        for k in PLAN
        if not k[1].startswith(
            (
                "/drill",
                "/api/drill",
                "/settings",
                "/api/s",
                "/api/export",
                "/api/import",
                "/api/mock",
                "/mock",
                "/visualize",
                "/api/attention",
                "/api/positional",
                "/code",
                "/api/code",
            )
        )
    ],
    "drill-and-settings": [
        k
        for k in PLAN
        if k[1].startswith(
            ("/drill", "/api/drill", "/settings", "/api/settings", "/api/stats", "/api/export", "/api/import")
        )
    ],
    "mock-api": [k for k in PLAN if k[1].startswith("/api/mock")],
    "mock-pages": [k for k in PLAN if k[1].startswith("/mock")],
    "visualize": [k for k in PLAN if k[1].startswith(("/visualize", "/api/attention", "/api/positional"))],
    "codelab": [k for k in PLAN if k[1].startswith(("/code", "/api/code"))],
}


def test_every_route_has_a_fuzz_plan():
    assert app_routes() == set(PLAN)
    assert sorted(k for keys in GROUPS.values() for k in keys) == sorted(set(PLAN)) == sorted(PLAN)


@pytest.mark.parametrize("group", list(GROUPS))
def test_hostile_input_never_breaks_a_route(client, group, monkeypatch):
    if group == "codelab":  # the routes, not the sandbox (tests/test_codelab_runner.py runs hostile code for real)
        from app.codelab import runner

        outcome = runner.RunResult(
            passed=False, tests=[runner.TestOutcome("case", False, SCRIPT)], duration_ms=1, error=None
        )
        monkeypatch.setattr(runner, "run_code", lambda slug, code, owner=None: outcome)
    sent, failures, _known, echoes = run(client, GROUPS[group], seed=SEED + list(GROUPS).index(group))
    assert sent >= 10 * len(GROUPS[group]) // 2
    assert echoes or group == "mock-api", (
        "no HTML page showed an injected payload (escaped): the injection check had nothing to find"
    )
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:60])


# ---------------------------------------------------------------- bugs the fuzzer found, fixed in app/services


def test_a_retention_beyond_float_range_is_a_422(client):
    # JSON numbers may have any number of digits; float(10**400) raised OverflowError (a 500).
    response = client.put(
        "/api/settings",
        content=b'{"desired_retention": 1' + b"0" * 400 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "desired_retention"]
    assert "desired_retention must be between 0.7 and 0.97, got 1000000000" in error["msg"]
    assert len(error["msg"]) < 200
    assert client.get("/api/settings").json()["desired_retention"] == 0.9


def test_a_review_token_with_a_lone_surrogate_is_refused_before_the_database(client):
    # SQLite cannot encode a lone surrogate: the codec error used to reach the learner as the 422 detail.
    body = b'{"question_id": "q01", "rating": 3, "review_token": "1.q01.0.\\ud800"}'
    response = client.post("/api/drill/reviews", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "review_token"]
    assert error["msg"] == (
        "评分令牌无效 (review_token must be the token shown with the card (1–80 printable ASCII characters))"
    )


# ---------------------------------------------------------------- fixed in app/main.py and app/routes/mock.py


def test_nan_in_a_json_body_is_a_422_naming_the_field(client):
    response = client.post(
        "/api/attention", content=b'{"text": "hello", "layer": Infinity}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "layer"]


def test_lone_surrogate_in_a_json_body_is_a_422(client):
    response = client.post(
        "/api/attention", content=b'{"text": "a\\ud800b"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "text"]


@pytest.mark.parametrize("path", ["/mock/%C2%B2", "/api/mock-sessions/%E2%91%A0/report"])
def test_mock_id_with_a_non_ascii_digit_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "not found" in response.text


def test_multipart_post_to_a_mock_page_closes_its_upload(client):
    mock = client.post("/api/mock-sessions", json={"count": 3, "seed": 7}).json()
    files = {"attachment": ("a.txt", b"softmax", "text/plain")}
    data = with_csrf({"question_id": mock["current"]["question_id"], "text": "softmax"})
    case = Case("POST", f"/mock/{mock['id']}/answer", {"files": files, "data": data})
    assert send(client, case) == []
