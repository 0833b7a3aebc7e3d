"""Export / import of the drill state: round trip, and a bad file changes nothing and says why."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from tests.utils.api import error_text
from tests.utils.csrf import JSON, with_csrf


def _study(client, clock, n=6):
    client.put("/api/settings", json={"desired_retention": 0.85, "new_per_day": 20, "interview_date": "2026-12-24"})
    for i in range(n):
        card = client.get("/api/drill/next").json()
        rating = [3, 1, 4, 2][i % 4]
        body = {"question_id": card["question_id"], "rating": rating, "review_token": card["review_token"]}
        assert client.post("/api/drill/reviews", json=body | {"duration_ms": 1000 + i}).status_code == 201
        clock.advance(timedelta(minutes=3))


def _state(client):
    return {
        "settings": client.get("/api/settings").json(),
        "cards": client.get("/api/drill/cards").json(),
        "stats": client.get("/api/stats").json(),
        "next": client.get("/api/drill/next").json(),
    }


def test_export_is_versioned_json_with_settings_cards_and_log(client, clock):
    _study(client, clock)
    response = client.get("/api/export")
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["format"] == "transformer-prep/drill-export" and data["version"] == 1
    assert data["settings"] == {
        "desired_retention": 0.85,
        "new_per_day": 20,
        "interview_date": "2026-12-24",
        "tracks": ["guide", "modern", "code"],
    }
    assert len(data["reviews"]) == 6 and {r["duration_ms"] for r in data["reviews"]} == set(range(1000, 1006))
    assert sum(c["reps"] for c in data["cards"]) == 6


def test_round_trip_restores_the_same_state(client, clock):
    _study(client, clock)
    exported = client.get("/api/export").json()
    before = _state(client)
    moment = clock.now()
    # change everything, then import the export back
    client.put("/api/settings", json={"desired_retention": 0.7, "new_per_day": 0, "interview_date": None})
    _study(client, clock, n=3)
    assert _state(client) != before
    response = client.post("/api/import", content=json.dumps(exported), headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["imported"]["reviews"] == 6
    clock.set(moment)
    assert _state(client) == before
    again = client.get("/api/export").json()
    assert {k: v for k, v in again.items() if k != "exported_at"} == {
        k: v for k, v in exported.items() if k != "exported_at"
    }


def _broken(exported):
    yield "not json at all{", "not valid JSON"
    yield "[1, 2]", "expected a JSON object"
    yield {**exported, "format": "anki"}, "format must be"
    yield {**exported, "version": 2}, "unsupported export version 2"
    bad = copy.deepcopy(exported)
    bad["reviews"][0]["rating"] = 9
    yield bad, "reviews.0.rating"
    bad = copy.deepcopy(exported)
    bad["reviews"][0]["reviewed_at"] = "2026-11-02T09:00:00"
    yield bad, "reviews.0.reviewed_at"
    bad = copy.deepcopy(exported)
    bad["cards"][0]["question_id"] = "q61"
    yield bad, "cards.0.question_id"
    bad = copy.deepcopy(exported)
    bad["cards"][0]["reps"] += 1
    yield bad, "but the log holds"
    bad = copy.deepcopy(exported)
    bad["settings"]["desired_retention"] = 1.5
    yield bad, "settings.desired_retention"
    bad = copy.deepcopy(exported)
    bad["cards"].append(copy.deepcopy(bad["cards"][0]))
    yield bad, "duplicate question_id"
    bad = copy.deepcopy(exported)
    bad["reviews"][-1]["card_after"] = {"due": "x"}
    yield bad, "reviews.5.card_after.due: not an ISO 8601 datetime"


def test_bad_files_change_nothing_and_say_why(client, clock):
    _study(client, clock)
    exported = client.get("/api/export").json()
    before = _state(client)
    cases = list(_broken(exported))
    assert len(cases) == 11
    for payload, message in cases:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        response = client.post("/api/import", content=body, headers=JSON)
        assert response.status_code == 422, message
        assert message in response.json()["detail"], (message, response.json()["detail"])
        assert _state(client) == before


def test_settings_page_offers_download_and_upload(client, clock):
    _study(client, clock, n=2)
    html = client.get("/settings").text
    assert 'href="/api/export"' in html and 'enctype="multipart/form-data"' in html
    exported = client.get("/api/export").content
    client.post("/api/drill/undo", headers=JSON)
    response = client.post(
        "/settings/import", data=with_csrf(), files={"file": ("backup.json", exported, "application/json")}
    )
    assert response.status_code == 200 and "已导入" in response.text
    assert len(client.get("/api/export").json()["reviews"]) == 2
    bad = client.post("/settings/import", data=with_csrf(), files={"file": ("x.json", b"{}", "application/json")})
    assert bad.status_code == 422 and "format must be" in bad.text
    assert len(client.get("/api/export").json()["reviews"]) == 2


@pytest.mark.parametrize(
    ("form", "status", "text"),
    [
        ({"desired_retention": "0.8", "new_per_day": "5", "interview_date": "2026-12-01"}, 200, "已保存"),
        ({"desired_retention": "0.99", "new_per_day": "5", "interview_date": ""}, 422, "desired_retention must be"),
        ({"desired_retention": "abc", "new_per_day": "5", "interview_date": ""}, 422, "must be a number"),
        ({"desired_retention": "0.9", "new_per_day": "5", "interview_date": "2026-99-01"}, 422, "ISO date"),
    ],
)
def test_settings_form(client, form, status, text):
    response = client.post("/settings", data=with_csrf(form))
    assert response.status_code == status and text in response.text
    saved = client.get("/api/settings").json()
    if status == 200:
        every = ["guide", "modern", "code"]  # a form that does not show the track boxes keeps them
        assert saved == {"desired_retention": 0.8, "new_per_day": 5, "interview_date": "2026-12-01", "tracks": every}
    else:
        assert saved["new_per_day"] == 10


# ---------------------------------------------------------------- hostile and hand-edited files


def test_deeply_nested_json_is_a_clear_422_not_a_server_error(client, clock):
    _study(client, clock, n=2)
    before = _state(client)
    nested = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/api/import", content=nested, headers=JSON)
    assert response.status_code == 422 and "嵌套过深" in response.json()["detail"]
    page = client.post("/settings/import", data=with_csrf(), files={"file": ("deep.json", nested, "application/json")})
    assert page.status_code == 422 and "嵌套过深" in page.text
    assert _state(client) == before


def test_oversized_file_is_refused_and_changes_nothing(client, clock, monkeypatch):
    from app.services import drill_transfer

    _study(client, clock, n=2)
    exported = client.get("/api/export").json()
    client.post("/api/drill/undo", headers=JSON)
    before = _state(client)
    body = json.dumps(exported, indent=1).encode()  # a valid export …
    monkeypatch.setattr(drill_transfer, "MAX_IMPORT_BYTES", len(body) - 1)  # … one byte over the limit
    response = client.post("/api/import", content=body, headers=JSON)
    assert response.status_code == 422 and "导入文件太大" in response.json()["detail"]
    page = client.post("/settings/import", data=with_csrf(), files={"file": ("big.json", body, "application/json")})
    assert page.status_code == 422 and "导入文件太大" in page.text
    assert _state(client) == before
    monkeypatch.setattr(drill_transfer, "MAX_IMPORT_BYTES", len(body))
    assert client.post("/api/import", content=body, headers=JSON).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("stability", None), ("difficulty", None)],
)
def test_a_card_fsrs_cannot_schedule_is_refused_so_the_pages_keep_working(client, clock, field, value):
    _study(client, clock)
    exported = client.get("/api/export").json()
    before = _state(client)
    bad = copy.deepcopy(exported)
    card = next(c for c in bad["cards"] if c["state"] == 2)  # a review card
    card[field] = value
    response = client.post("/api/import", content=json.dumps(bad), headers=JSON)
    assert response.status_code == 422, response.text
    index = bad["cards"].index(card)
    assert f"cards.{index}.{field}: must be a number, got None" in response.json()["detail"]
    assert _state(client) == before
    assert client.get("/drill").status_code == 200 and client.get("/stats").status_code == 200


def test_a_relearning_card_without_a_step_is_refused(client, clock):
    _study(client, clock)
    bad = client.get("/api/export").json()
    card = next(c for c in bad["cards"] if c["state"] == 2)
    card.update(state=3, step=None)
    response = client.post("/api/import", content=json.dumps(bad), headers=JSON)
    index = bad["cards"].index(card)
    assert response.status_code == 422
    assert f"cards.{index}.step: a relearning card (state 3) needs step 0" in response.json()["detail"]


def test_a_snapshot_with_a_naive_last_review_is_refused(client, clock):
    _study(client, clock)
    bad = client.get("/api/export").json()
    bad["reviews"][-1]["card_after"]["last_review"] = "2026-11-02T09:00:00"
    response = client.post("/api/import", content=json.dumps(bad), headers=JSON)
    assert response.status_code == 422 and "reviews.5.card_after" in response.json()["detail"]


@pytest.mark.parametrize(
    ("form", "chinese"),
    [
        ({"desired_retention": "0.99", "new_per_day": "5", "interview_date": ""}, "期望保留率必须在 0.7 到 0.97 之间"),
        ({"desired_retention": "0.9", "new_per_day": "500", "interview_date": ""}, "每日新卡数必须是 0 到 100 的整数"),
        ({"desired_retention": "0.9", "new_per_day": "abc", "interview_date": ""}, "每日新卡数必须是 0 到 100 的整数"),
        ({"desired_retention": "0.9", "new_per_day": "5", "interview_date": "2026/12/01"}, "面试日期必须是有效日期"),
    ],
)
def test_settings_form_errors_are_in_chinese(client, form, chinese):
    response = client.post("/settings", data=with_csrf(form))
    assert response.status_code == 422
    assert chinese in response.text
    assert client.get("/api/settings").json()["new_per_day"] == 10


def test_settings_api_errors_are_in_chinese_with_the_english_detail(client):
    [error] = client.put("/api/settings", json={"interview_date": "next friday"}).json()["detail"]
    assert error["loc"] == ["body", "interview_date"]
    assert error["msg"].startswith("面试日期必须是有效日期") and "interview_date must be an ISO date" in error["msg"]


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2101-01-01"])
def test_an_interview_date_out_of_range_is_refused_and_the_pages_keep_working(client, clock, day):
    _study(client, clock, n=2)
    response = client.put("/api/settings", json={"interview_date": day})
    assert response.status_code == 422
    assert "面试日期必须在 2000-01-01 到 2100-12-31 之间" in error_text(response)
    form = client.post(
        "/settings", data=with_csrf({"desired_retention": "0.9", "new_per_day": "5", "interview_date": day})
    )
    assert form.status_code == 422 and "面试日期必须在" in form.text
    exported = client.get("/api/export").json()
    exported["settings"]["interview_date"] = day
    assert client.post("/api/import", content=json.dumps(exported), headers=JSON).status_code == 422
    assert client.get("/api/settings").json()["interview_date"] == "2026-12-24"
    for path in ("/", "/drill", "/stats", "/api/drill/next"):
        assert client.get(path).status_code == 200, path


def test_an_export_larger_than_the_general_body_limit_still_imports(client, clock):
    """A long review log outgrows MAX_BODY_BYTES (2 MB); the import routes take up to MAX_IMPORT_BYTES."""
    from app.config import settings

    _study(client, clock, n=2)
    exported = client.get("/api/export").json()
    client.post("/api/drill/undo", headers=JSON)
    body = json.dumps(exported).encode()
    body = body[:-1] + b" " * (settings.MAX_BODY_BYTES + 1000) + b"}"  # same JSON, bigger than 2 MB
    response = client.post("/api/import", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    page = client.post("/settings/import", data=with_csrf(), files={"file": ("big.json", body, "application/json")})
    assert page.status_code == 200 and "已导入" in page.text
    # every other route keeps the general limit
    assert client.put("/api/settings", content=body, headers=JSON).status_code == 413


def test_settings_form_chooses_the_tracks_and_refuses_none(client):
    html = client.get("/settings").text
    assert html.count('name="tracks"') == 3 and 'name="tracks_shown"' in html
    form = {"desired_retention": "0.9", "new_per_day": "10", "interview_date": "", "tracks_shown": "1"}
    response = client.post("/settings", data=with_csrf({**form, "tracks": ["modern", "code"]}))
    assert response.status_code == 200 and "已保存" in response.text
    assert client.get("/api/settings").json()["tracks"] == ["modern", "code"]
    assert client.get("/api/drill/next").json()["question_id"] == "q31"
    refused = client.post("/settings", data=with_csrf(form))  # every box unticked
    assert refused.status_code == 422 and "至少选择一个轨道" in refused.text
    assert client.get("/api/settings").json()["tracks"] == ["modern", "code"]
