"""JSON API for the bank, health check and error shapes."""

from __future__ import annotations

from app.question_bank import get_bank


def test_healthz(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_list_returns_the_guide_then_the_modern_track(client):
    data = client.get("/api/questions").json()
    assert [q["id"] for q in data] == sorted(get_bank())
    assert [q["id"] for q in data[:30]] == [f"q{n:02d}" for n in range(1, 31)]
    first = data[0]
    assert set(first) >= {"id", "category", "track", "difficulty", "question", "tags"}
    assert set(first["question"]) == {"zh", "en"}
    assert first["category"] == "basics" and first["track"] == "guide"
    assert {q["track"] for q in data[30:]} <= {"modern"}
    assert {q["category"] for q in data[30:]} <= {"architecture", "training", "inference"}
    guide = client.get("/api/questions?track=guide").json()
    assert guide == data[:30]  # the first 30 keep their ids and fields
    assert client.get("/api/questions?track=modern").json() == data[30:]
    bad = client.get("/api/questions?track=advanced")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "track"]


def test_full_record_fields(client):
    data = client.get("/api/questions/q04").json()
    for field in (
        "id",
        "category",
        "difficulty",
        "question",
        "answer",
        "key_points",
        "follow_ups",
        "notes_section",
        "demo",
    ):
        assert field in data
    assert data["id"] == "q04"
    kp = data["key_points"][0]
    assert isinstance(kp["label"], str) and kp["keywords"] and all(isinstance(w, str) for w in kp["keywords"])
    assert {"question", "answer"} <= set(data["follow_ups"][0])


def test_unknown_id_is_json_404(client):
    response = client.get("/api/questions/q61")
    assert response.status_code == 404
    assert response.json() == {"detail": "Question not found"}


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/questions/{question_id}" in paths


def test_oversized_body_is_refused(client):
    response = client.post("/api/questions", content=b"x" * 3_000_000, headers={"content-type": "application/json"})
    assert response.status_code == 413
