"""Crafted import files: each is refused with a 422 naming the record and field (and changes nothing), or is
accepted and leaves every page answering 200, with export → import → export byte-identical."""

from __future__ import annotations

import copy
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app import cards
from tests.utils.csrf import JSON, with_csrf
from tests.utils.drill_files import export_file

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # the `clock` fixture's time
PAGES = (
    "/",
    "/drill",
    "/stats",
    "/api/stats",
    "/api/export",
    "/mock",
    "/mock/history",
    "/questions",
    "/settings",
    "/api/drill/next",
    "/api/drill/cards",
)


def _base() -> dict:
    """A valid export: 12 questions, 120 reviews over September (review and relearning cards, mock reviews)."""
    data = export_file(reviews=120, questions=12, start=datetime(2026, 9, 1, tzinfo=UTC), step=timedelta(hours=6))
    data["settings"]["interview_date"] = "2026-12-24"
    data["exported_at"] = "2026-10-01T00:00:00+00:00"
    return data


def _last_of(data: dict, qid: str) -> tuple[int, dict]:
    """Index and record of the newest review of `qid`."""
    index = max(i for i, r in enumerate(data["reviews"]) if r["question_id"] == qid)
    return index, data["reviews"][index]


def _card(data: dict, qid: str) -> dict:
    return next(c for c in data["cards"] if c["question_id"] == qid)


def _set_everywhere(data: dict, qid: str, **fields: object) -> dict:
    """Change a card and its newest snapshot alike, so only the rule under test can object."""
    _card(data, qid).update(fields)
    _last_of(data, qid)[1]["card_after"].update(fields)
    return data


def _edit(change: Callable[[dict], object]) -> Callable[[dict], dict]:
    def build(base: dict) -> dict:
        data = copy.deepcopy(base)
        change(data)
        return data

    return build


def _text(build: Callable[[dict], str]) -> Callable[[dict], str]:
    return build


def _moved_last_review(data: dict, qid: str, moment: datetime, due: datetime) -> None:
    """Move the newest review of `qid` to `moment` consistently (review, snapshot and card)."""
    _, review = _last_of(data, qid)
    review["reviewed_at"] = moment.isoformat()
    _set_everywhere(data, qid, last_review=moment.isoformat(), due=due.isoformat())


def _in_shanghai(value: object) -> object:
    """Every ISO datetime string rewritten with a +08:00 offset (the same instants)."""
    if isinstance(value, dict):
        return {k: _in_shanghai(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_shanghai(v) for v in value]
    if isinstance(value, str) and value.endswith("+00:00"):
        return (datetime.fromisoformat(value) + timedelta(hours=8)).isoformat()[:-6] + "+08:00"
    return value


def _drop_capped(data: dict) -> None:
    for review in data["reviews"]:
        for name in ("card_before", "card_after"):
            if review[name] is not None:
                review[name].pop("capped")


def _future_review(data: dict) -> None:
    soon = NOW + timedelta(hours=23)
    _moved_last_review(data, "q05", soon, soon + timedelta(days=3))


def _far_due(data: dict) -> None:
    _set_everywhere(data, "q03", due=(NOW + timedelta(days=99 * 365)).isoformat())


def _int_stability(data: dict) -> None:
    qid = next(c["question_id"] for c in data["cards"] if c["state"] == 2)
    _set_everywhere(data, qid, stability=round(_card(data, qid)["stability"]) or 1)


REFUSED: dict[str, tuple[Callable[[dict], object], str]] = {
    # the defects found by hand
    "reviewed_at in year 9999": (
        _edit(lambda d: d["reviews"][-1].update(reviewed_at="9999-12-31T23:00:00+00:00")),
        "reviews.119.reviewed_at: must be between 2000-01-01T00:00:00+00:00 and now + 1 day",
    ),
    "year 9999 everywhere on one card": (
        _edit(
            lambda d: _moved_last_review(d, "q12", datetime(9999, 1, 1, tzinfo=UTC), datetime(9999, 6, 1, tzinfo=UTC))
        ),
        "reviews.119.reviewed_at: must be between",
    ),
    "NaN stability": (
        _text(lambda b: json.dumps(b).replace('"stability": ' + repr(b["cards"][0]["stability"]), '"stability": NaN')),
        "NaN is not a JSON number",
    ),
    "Infinity difficulty": (
        _text(
            lambda b: json.dumps(b).replace(
                '"difficulty": ' + repr(b["cards"][1]["difficulty"]), '"difficulty": -Infinity'
            )
        ),
        "-Infinity is not a JSON number",
    ),
    "1e400 overflows to infinity": (
        _text(
            lambda b: json.dumps(b).replace('"stability": ' + repr(b["cards"][0]["stability"]), '"stability": 1e400', 1)
        ),
        "cards.0.stability: must be a finite number",
    ),
    "reps 10^6 on a card": (_edit(lambda d: d["cards"][0].update(reps=10**6)), "cards.0.reps: Input should be less"),
    "reps 10^6 in the newest snapshot and card": (
        _edit(lambda d: _set_everywhere(d, "q02", reps=10**6)),
        "card_after.reps: Input should be less than or equal to 200000",
    ),
    "reps 10^6 in a card_before only": (
        _edit(lambda d: d["reviews"][-1]["card_before"].update(reps=10**6)),
        "reviews.119.card_before.reps",
    ),
    "fails 10^18": (_edit(lambda d: d["cards"][3].update(fails=10**18)), "cards.3.fails: Input should be less"),
    "fails above reps": (
        _edit(lambda d: _set_everywhere(d, "q04", fails=_card(d, "q04")["reps"] + 1)),
        "fails=11 exceeds reps=10",
    ),
    "review card with a learning step": (
        _edit(lambda d: _set_everywhere(d, next(c["question_id"] for c in d["cards"] if c["state"] == 2), step=1)),
        "a review card (state 2) has no learning step",
    ),
    "learning step beyond the scheduler's steps": (
        _edit(lambda d: _set_everywhere(d, "q01", state=1, step=7)),
        "a learning card (state 1) needs a step from 0 to 1, got 7",
    ),
    "state 0 on a stored card": (_edit(lambda d: d["cards"][0].update(state=0)), "cards.0.state"),
    "state_after contradicts its snapshot": (
        _edit(lambda d: d["reviews"][5].update(state_after=3 if d["reviews"][5]["state_after"] != 3 else 2)),
        "reviews.5.state_after",
    ),
    "due before last_review": (
        _edit(lambda d: _set_everywhere(d, "q06", due="2026-01-01T00:00:00+00:00")),
        "due 2026-01-01T00:00:00+00:00 is before last_review",
    ),
    "year-1 due": (
        _edit(lambda d: d["cards"][0].update(due="0001-01-01T00:00:00+00:00")),
        "cards.0.due: must be between 2000-01-01",
    ),
    "year-1 reviewed_at with an offset": (
        _edit(lambda d: d["reviews"][0].update(reviewed_at="0001-01-01T00:00:00+05:00")),
        "reviews.0.reviewed_at: datetime out of range",
    ),
    "review in 1999": (
        _edit(lambda d: d["reviews"][0].update(reviewed_at="1999-12-31T23:59:59+00:00")),
        "reviews.0.reviewed_at: must be between 2000-01-01",
    ),
    "review a week in the future": (
        _edit(lambda d: _moved_last_review(d, "q07", NOW + timedelta(days=7), NOW + timedelta(days=9))),
        "reviewed_at: must be between 2000-01-01T00:00:00+00:00 and now + 1 day (2026-11-03T09:00:00+00:00)",
    ),
    "due 200 years ahead": (
        _edit(lambda d: _set_everywhere(d, "q08", due="2226-01-01T00:00:00+00:00")),
        "due: must be between 2000-01-01T00:00:00+00:00 and now + 100 years",
    ),
    "exported in the future": (_edit(lambda d: d.update(exported_at="2030-01-01T00:00:00+00:00")), "exported_at"),
    "naive datetime": (
        _edit(lambda d: d["cards"][2].update(due="2026-11-05T09:00:00")),
        "cards.2.due: must carry a timezone offset",
    ),
    "unix timestamp for a date": (
        _edit(lambda d: d["reviews"][3].update(reviewed_at=1_790_000_000)),
        "reviews.3.reviewed_at: must be an ISO 8601 datetime string",
    ),
    "stability zero": (
        _edit(lambda d: _set_everywhere(d, "q09", stability=0)),
        "stability: Input should be greater than 0",
    ),
    "stability a million days": (
        _edit(lambda d: _set_everywhere(d, "q09", stability=1e6)),
        "stability: Input should be less than or equal to 36500",
    ),
    "difficulty 11": (_edit(lambda d: _set_everywhere(d, "q10", difficulty=11)), "difficulty: Input should be less"),
    "rating 5": (_edit(lambda d: d["reviews"][4].update(rating=5)), "reviews.4.rating: Input should be less"),
    "rating as a string": (
        _edit(lambda d: d["reviews"][4].update(rating="3")),
        "reviews.4.rating: Input should be a valid integer",
    ),
    "rating as a boolean": (
        _edit(lambda d: d["reviews"][4].update(rating=True)),
        "reviews.4.rating: Input should be a valid integer",
    ),
    "stability as a string": (
        _edit(lambda d: d["cards"][0].update(stability="5")),
        "cards.0.stability: must be a number",
    ),
    "negative duration": (_edit(lambda d: d["reviews"][2].update(duration_ms=-1)), "reviews.2.duration_ms"),
    "duration of a year": (
        _edit(lambda d: d["reviews"][2].update(duration_ms=365 * 86_400_000)),
        "reviews.2.duration_ms",
    ),
    "megabyte review token": (
        _edit(lambda d: d["reviews"][1].update(review_token="x" * 1_000_000)),
        "reviews.1.review_token",
    ),
    "lone surrogate in a token": (
        _text(lambda b: json.dumps(b).replace(b["reviews"][1]["review_token"], "\\ud800abc")),
        "reviews.1.review_token: must be 1–80 printable ASCII characters",
    ),
    "megabyte source": (_edit(lambda d: d["reviews"][1].update(source="drill" * 200_000)), "reviews.1.source"),
    "unknown top-level key": (
        _edit(lambda d: d.update(comment="hand edited")),
        "comment: Extra inputs are not permitted",
    ),
    "unknown key in a card": (_edit(lambda d: d["cards"][0].update(ease=2.5)), "cards.0.ease: Extra inputs"),
    "unknown key in a snapshot": (
        _edit(lambda d: d["reviews"][0]["card_after"].update(note="x" * 10_000)),
        "reviews.0.card_after.note: Extra inputs",
    ),
    "missing field": (_edit(lambda d: d["reviews"][0].pop("rating")), "reviews.0.rating: Field required"),
    "cards is an object": (_edit(lambda d: d.update(cards={"q01": {}})), "cards: Input should be a valid list"),
    "empty file": (_text(lambda b: ""), "the file is empty"),
    "whitespace only": (_text(lambda b: " \n\t "), "the file is empty"),
    "JSON array": (_text(lambda b: "[]"), "expected a JSON object at the top level"),
    "JSON string": (_text(lambda b: '"transformer-prep/drill-export"'), "expected a JSON object"),
    "JSON null": (_text(lambda b: "null"), "expected a JSON object"),
    "truncated file": (_text(lambda b: json.dumps(b)[:5000]), "not valid JSON"),
    "Latin-1 bytes": (_text(lambda b: b'{"format": "caf\xe9"}'), "not UTF-8"),
    "number with 5000 digits": (_text(lambda b: '{"format": ' + "9" * 5000 + "}"), "a number with too many digits"),
    "duplicate keys": (
        _text(lambda b: json.dumps(b)[:-1] + ', "settings": ' + json.dumps(b["settings"]) + "}"),
        "duplicate key 'settings'",
    ),
    "version as a string": (_edit(lambda d: d.update(version="1")), "unsupported export version '1'"),
    "duplicate card": (_edit(lambda d: d["cards"].append(copy.deepcopy(d["cards"][0]))), "duplicate question_id q01"),
    "duplicate review token": (
        _edit(lambda d: d["reviews"][7].update(review_token=d["reviews"][3]["review_token"])),
        "reviews.7.review_token: duplicate review_token",
    ),
    "review of a question without a card": (
        _edit(lambda d: d["cards"].pop(0)),
        "q01 has reviews but no card",
    ),
    "card whose reviews are missing": (
        _edit(lambda d: d.update(reviews=[r for r in d["reviews"] if r["question_id"] != "q11"])),
        "q11 has reps=10 but the log holds 0 reviews of it",
    ),
    "review of an unknown question": (
        _edit(lambda d: d["reviews"][0].update(question_id="q99")),
        "reviews.0.question_id",
    ),
    "first review starting from a reviewed card": (
        _edit(lambda d: d["reviews"].pop(0)),
        "the first review of q01 starts from a new card",
    ),
    "broken chain": (
        _edit(
            lambda d: d["reviews"][-1]["card_before"].update(stability=d["reviews"][-1]["card_before"]["stability"] * 2)
        ),
        "reviews.119.card_before.stability",
    ),
    "card moved away from its newest snapshot": (
        _edit(lambda d: _card(d, "q05").update(due="2026-12-01T00:00:00+00:00")),
        "differs from its newest review's card_after",
    ),
    "snapshot reviewed at another time": (
        _edit(lambda d: d["reviews"][0].update(reviewed_at="2026-09-01T00:00:01+00:00")),
        "card_after.last_review 2026-09-01T00:00:00+00:00 is not reviewed_at",
    ),
    "snapshot of another card": (
        _edit(lambda d: d["reviews"][0]["card_after"].update(card_id=30)),
        "reviews.0.card_after.card_id: must be 1 for q01, got 30",
    ),
    "Again that does not count a fail": (
        _edit(lambda d: d["reviews"][0].update(rating=1 if d["reviews"][0]["rating"] != 1 else 3)),
        "reviews.0.card_after.reps: reps/fails must be 1/",
    ),
}

ACCEPTED: dict[str, Callable[[dict], object]] = {
    "the file as exported": _edit(lambda d: None),
    "UTF-8 byte-order mark": _text(lambda b: b"\xef\xbb\xbf" + json.dumps(b).encode()),
    "every date at +08:00": _edit(lambda d: d.update(_in_shanghai(copy.deepcopy(d)))),
    "snapshots without `capped` (older files)": _edit(_drop_capped),
    "a review 23 hours ahead (fast clock)": _edit(_future_review),
    "a card due in 99 years": _edit(_far_due),
    "a whole-number stability": _edit(_int_stability),
    "a fresh learner: no cards, no reviews": _edit(lambda d: d.update(cards=[], reviews=[])),
    "every date with a Z suffix": _text(lambda b: json.dumps(b).replace("+00:00", "Z")),
    "timestamps with microseconds": lambda b: export_file(
        reviews=40,
        questions=5,
        start=datetime(2026, 10, 1, 0, 0, 0, 123_456, tzinfo=UTC),
        step=timedelta(minutes=97, microseconds=777),
    ),
    "a log starting on 2000-01-01": lambda b: export_file(
        reviews=60, start=datetime(2000, 1, 1, tzinfo=UTC), step=timedelta(days=30)
    ),
}


def _body(payload: object) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return (payload if isinstance(payload, str) else json.dumps(payload)).encode()


def _import(client, payload: object):
    return client.post("/api/import", content=_body(payload), headers=JSON)


@pytest.fixture
def base(client) -> dict:
    data = _base()
    assert _import(client, data).status_code == 200
    return data


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_a_crafted_file_is_refused_with_the_record_and_field_and_changes_nothing(client, base, case):
    build, reason = REFUSED[case]
    before = client.get("/api/export").content
    response = _import(client, build(base))
    assert response.status_code == 422, response.text[:500]
    detail = response.json()["detail"]
    assert reason in detail, detail
    assert re.match(r"[\u4e00-\u9fff]", detail), f"the message should lead with Chinese: {detail[:80]}"
    assert len(detail) < 2000
    assert client.get("/api/export").content == before  # nothing written


def test_the_corpus_is_broad(client):
    assert len(REFUSED) + len(ACCEPTED) >= 30


def _assert_pages_and_round_trip(client) -> bytes:
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    first = client.get("/api/export")
    again = _import(client, first.content)
    assert again.status_code == 200, again.text[:500]
    second = client.get("/api/export")
    assert second.content == first.content  # the clock is fixed, so even exported_at matches
    return first.content


@pytest.mark.parametrize("case", list(ACCEPTED), ids=list(ACCEPTED))
def test_an_accepted_file_leaves_every_page_working_and_round_trips(client, base, case):
    payload = ACCEPTED[case](base)
    response = _import(client, payload)
    assert response.status_code == 200, response.text[:500]
    exported = json.loads(_assert_pages_and_round_trip(client))
    sent = json.loads(_body(payload).decode("utf-8-sig"))
    assert len(exported["reviews"]) == len(sent["reviews"])
    assert [c["question_id"] for c in exported["cards"]] == [c["question_id"] for c in sent["cards"]]


def test_an_accepted_file_restores_the_same_state_it_describes(client, base):
    """The +08:00 file means the same instants: its export equals the UTC original, byte for byte."""
    original = client.get("/api/export").content
    assert _import(client, _in_shanghai(base)).status_code == 200
    assert client.get("/api/export").content == original


def test_the_app_own_export_after_a_day_of_grading_imports_again(client, clock, base):
    """Reviews recorded by the app on top of an imported file (drill, undo, mock) still form a valid log."""
    for rating in (1, 3, 4, 2, 3):
        card = client.get("/api/drill/next").json()
        body = {"question_id": card["question_id"], "rating": rating, "review_token": card["review_token"]}
        assert client.post("/api/drill/reviews", json=body).status_code == 201
        clock.advance(timedelta(minutes=7))
    assert client.post("/api/drill/undo", headers=JSON).status_code == 200
    _assert_pages_and_round_trip(client)


def test_a_30000_review_file_is_accepted(client):
    """A heavy learner: 1 000 reviews of each of the 30 questions over 3½ years (timing is in benchmarks/)."""
    data = export_file(reviews=30_000, start=datetime(2023, 1, 1, tzinfo=UTC), step=timedelta(hours=1))
    response = _import(client, data)
    assert response.status_code == 200, response.text[:500]
    assert response.json()["imported"]["reviews"] == 30_000
    stats = client.get("/api/stats").json()
    # An export from before the modern track: every guide card is seen, the newer tracks' cards are new.
    assert stats["reviews_total"] == 30_000 and stats["counts"]["new"] == len(cards.all_card_ids()) - 30
    exported = client.get("/api/export").json()
    assert exported["settings"].pop("tracks") == ["guide", "modern", "code"]  # no tracks in the file: all of them
    assert {k: v for k, v in exported.items() if k != "exported_at"} == {
        k: v for k, v in data.items() if k != "exported_at"
    }


def test_the_settings_page_shows_the_reason_escaped_and_changes_nothing(client, base):
    before = client.get("/api/export").content
    crafted = copy.deepcopy(base)
    crafted["cards"][0]["<script>alert(1)</script>"] = 1
    page = client.post(
        "/settings/import",
        data=with_csrf(),
        files={"file": ("backup.json", json.dumps(crafted).encode(), "application/json")},
    )
    assert page.status_code == 422
    assert "导入文件无效，数据未改变" in page.text and "第 1 张卡片（q01）" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert client.get("/api/export").content == before


def test_stats_survive_a_year_9999_review_written_before_imports_were_checked(client, engine, monkeypatch):
    """Databases that took such a file before these checks existed: /stats answered 500 until the next import."""
    from sqlmodel import Session

    from app.config import settings
    from app.models import DrillReview

    monkeypatch.setattr(settings, "STUDY_TIMEZONE", "Asia/Shanghai")  # UTC+8: 9999-12-31T23:00Z has no local date
    assert _import(client, export_file(reviews=3, questions=3, start=NOW - timedelta(days=2))).status_code == 200
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    with Session(engine) as session:
        review = session.get(DrillReview, 3) or pytest.fail("no review 3")
        review.reviewed_at = far
        session.add(review)
        session.commit()
    for path in ("/stats", "/api/stats"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/stats").json()["reviews_total"] == 3
    refused = _import(client, client.get("/api/export").content)  # its export says what is wrong with it
    assert refused.status_code == 422 and "reviews.2.reviewed_at: must be between" in refused.json()["detail"]


@pytest.mark.browser
def test_the_settings_page_in_chromium_refuses_a_crafted_file_then_imports_a_good_one(live_server, page):
    from tests.conftest import screenshot

    def log_size() -> tuple[int, int]:
        data = httpx.get(live_server.url + "/api/export").json()
        return len(data["cards"]), len(data["reviews"])

    now = datetime.now(UTC)
    good = export_file(reviews=90, questions=9, start=now - timedelta(days=20), step=timedelta(hours=5))
    crafted = copy.deepcopy(good)
    crafted["reviews"][-1]["reviewed_at"] = "9999-12-31T23:00:00+00:00"
    crafted["cards"][2]["stability"] = 1e9
    before = log_size()

    page.goto(live_server.url + "/settings")
    page.set_input_files("#import-file", files=[_upload("crafted.json", crafted)])
    page.click(".import-form button[type=submit]")
    error = page.locator("#settings-error")
    error.wait_for()
    text = error.inner_text()
    assert text.startswith("导入文件无效，数据未改变")
    assert "第 3 张卡片（q03）的 stability" in text and "第 90 条复习记录（q09）的 reviewed_at" in text
    assert log_size() == before
    screenshot(page, "settings-import-refused")

    page.set_input_files("#import-file", files=[_upload("good.json", good)])
    page.click(".import-form button[type=submit]")
    page.locator("#settings-notice").wait_for()
    assert "90 条复习记录" in page.locator("#settings-notice").inner_text()
    assert log_size() == (9, 90)
    for path in ("/", "/drill", "/stats", "/mock", "/questions"):
        assert page.goto(live_server.url + path).status == 200, path
    page.goto(live_server.url + "/stats")
    screenshot(page, "stats-after-import")


def _upload(name: str, data: dict) -> dict:
    return {"name": name, "mimeType": "application/json", "buffer": json.dumps(data).encode()}


HOSTILE_VALUES = (
    None, True, 0, 1, 2, 3, 4, -1, 0.5, 1.5, 36_500.5, 10**6, 10**18, 1e308, "", "3", "x" * 5000, "q61", "mock",
    [], {}, {"state": 2}, "2026-10-01T00:00:00+00:00", "2026-10-01T08:00:00+08:00", "2026-10-01T00:00:00",
    "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "1999-12-31T23:59:59+00:00", "2026-12-24", "\ud800",
)  # fmt: skip


def _leaves(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _mutated(base: dict, rng: random.Random) -> dict:
    data = copy.deepcopy(base)
    for _ in range(rng.choice((1, 1, 1, 2))):
        *parent_path, key = rng.choice(_leaves(data))
        parent = data
        for step in parent_path:
            parent = parent[step]
        roll = rng.random()
        if roll < 0.1 and isinstance(parent, dict):
            del parent[key]
        elif roll < 0.15 and isinstance(parent, dict):
            parent["extra"] = rng.choice(HOSTILE_VALUES)
        else:
            parent[key] = rng.choice(HOSTILE_VALUES)
    return data


def test_random_mutations_are_refused_cleanly_or_leave_everything_working(client, base):
    """100 seeded mutations of a valid file: never a server error; each is a Chinese-first 422 that writes nothing,
    or an import after which every page answers and the export round-trips."""
    rng = random.Random(20261202)
    outcomes = Counter()
    for _ in range(100):
        before = client.get("/api/export").content
        crafted = _mutated(base, rng)
        response = _import(client, json.dumps(crafted))
        assert response.status_code in (200, 422), (response.status_code, response.text[:300])
        outcomes[response.status_code] += 1
        if response.status_code == 422:
            assert re.match(r"[\u4e00-\u9fff]", response.json()["detail"])
            assert client.get("/api/export").content == before
        else:
            _assert_pages_and_round_trip(client)
    assert outcomes[422] > 50 and outcomes[200] > 0, outcomes  # both branches really ran


def test_export_still_works_over_a_nan_left_by_an_unchecked_import(client, engine):
    """/api/export answered 500 (no backup possible); now the damage exports as null, and importing names it."""
    from sqlmodel import Session, select

    from app.models import DrillCard, DrillReview

    assert _import(client, export_file(reviews=4, questions=2, start=NOW - timedelta(days=2))).status_code == 200
    with Session(engine) as session:
        card = session.exec(select(DrillCard).where(DrillCard.question_id == "q02")).one()
        card.stability = float("nan")
        review = session.get(DrillReview, 4) or pytest.fail("no review 4")
        review.card_after = review.card_after.replace('"difficulty": ', '"difficulty": Infinity, "was": ')
        session.add_all([card, review])
        session.commit()
    response = client.get("/api/export")
    assert response.status_code == 200
    exported = response.json()
    assert exported["cards"][1]["stability"] is None and exported["reviews"][3]["card_after"]["difficulty"] is None
    refused = _import(client, response.content)
    assert refused.status_code == 422 and "cards.1.stability: must be a number, got None" in refused.json()["detail"]


def test_a_write_that_fails_half_way_rolls_back_everything(client, engine, base):
    """All-or-nothing past validation too: a token another learner already holds fails the insert after the
    old log was deleted and the new cards written; the transaction is rolled back as a whole."""
    from sqlmodel import Session, select

    from app.models import DrillReview, User

    with Session(engine) as session:
        session.add(User(id=2, name="other learner", created_at=NOW))
        session.flush()
        session.add(
            DrillReview(
                user_id=2,
                question_id="q01",
                rating=3,
                reviewed_at=NOW,
                review_token="taken-token",
                state_before=0,
                state_after=1,
                card_after="{}",
            )
        )
        session.commit()
    before = client.get("/api/export").content
    crafted = copy.deepcopy(base)
    crafted["reviews"][-1]["review_token"] = "taken-token"
    crafted["settings"]["new_per_day"] = 55
    response = _import(client, crafted)
    assert response.status_code == 422 and "导入失败，数据未改变" in response.json()["detail"]
    assert client.get("/api/export").content == before
    with Session(engine) as session:
        assert session.exec(select(DrillReview).where(DrillReview.user_id == 2)).one().review_token == "taken-token"
