"""The hand-coding lab's JSON API (/api/code/…): the contract's paths and fields, bounds, idempotent runs,
one run at a time per learner (409), a busy server (503 + Retry-After), a switched-off runner (503)."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest
from sqlmodel import Session, select

from app.codelab import runner
from app.codelab.exercises import get_exercises
from app.models import CodeAttempt
from app.services import codelab as svc
from tests.conftest import app_client

SLUG = "softmax"
WRONG_AXIS = (
    "import torch\n\n"
    "def softmax(x, dim=-1):\n"
    "    m = x.amax(dim=0, keepdim=True)\n"
    "    e = torch.exp(x - m)\n"
    "    return e / e.sum(dim=0, keepdim=True)\n"
)


def _solution(slug: str = SLUG) -> str:
    return get_exercises()[slug].solution


def _outcome(passed: bool, *, error: str | None = None) -> runner.RunResult:
    tests = [runner.TestOutcome("shape (2, 3), dim=-1", passed, "" if passed else "最大误差 0.5 at [0, 1]")]
    return runner.RunResult(passed=passed, tests=tests, duration_ms=12, error=error)


@pytest.fixture
def fake_runner(monkeypatch):
    """Replace the sandboxed run with a recorded one (the real runner is tested end to end below)."""
    calls: list[tuple[str, str]] = []
    gate = {"event": None}

    def run_code(slug: str, code: str, owner: str | None = None) -> runner.RunResult:
        calls.append((slug, code))
        if gate["event"] is not None:
            gate["event"].wait(10)
        return _outcome("wrong" not in code)

    monkeypatch.setattr(runner, "run_code", run_code)
    monkeypatch.setattr(runner, "runner_status", lambda: (True, ""))
    return {"calls": calls, "gate": gate}


def test_exercise_list_has_the_contract_fields_and_the_learners_status(client):
    response = client.get("/api/code/exercises")
    assert response.status_code == 200
    listed = response.json()
    assert [e["slug"] for e in listed] == list(get_exercises())
    first = listed[0]
    assert {"slug", "title", "questions", "card_id", "difficulty", "status", "attempts", "due"} <= set(first)
    assert first["status"] == "new" and first["attempts"] == 0 and first["due"] is None


def test_one_exercise_has_exactly_the_contract_fields(client):
    response = client.get(f"/api/code/exercises/{SLUG}")
    assert response.status_code == 200
    body = response.json()
    exercise = get_exercises()[SLUG]
    assert {k: body[k] for k in ("slug", "title", "statement", "starter_code", "solution", "questions")} == {
        "slug": SLUG,
        "title": exercise.title,
        "statement": exercise.statement,
        "starter_code": exercise.starter_code,
        "solution": exercise.solution,
        "questions": exercise.questions,
    }
    assert "check_source" not in body  # the hidden tests stay on the server


@pytest.mark.parametrize(
    "method,path", [("GET", "/api/code/exercises/nope"), ("POST", "/api/code/exercises/nope/runs")]
)
def test_unknown_exercise_is_404(client, method, path):
    response = client.request(method, path, json={"code": "x = 1"} if method == "POST" else None)
    assert response.status_code == 404
    assert response.json()["detail"] == "Exercise not found"


def test_code_over_20000_characters_is_422_and_nothing_runs(client, fake_runner, engine):
    response = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "#" * 20_001})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "code"]
    assert fake_runner["calls"] == []
    ok = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "#" * 20_000})
    assert ok.status_code == 200
    with Session(engine) as s:
        assert len(s.exec(select(CodeAttempt)).all()) == 1


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "code"),
        ({"code": 3}, "code"),
        ({"code": "x", "extra": 1}, None),
        ({"code": "x", "request_id": "<b>"}, "request_id"),
    ],
)
def test_bad_run_bodies_are_422(client, fake_runner, body, field):
    response = client.post(f"/api/code/exercises/{SLUG}/runs", json=body)
    assert response.status_code == 422
    if field is not None:
        assert response.json()["detail"][0]["loc"][-1] == field
    else:
        assert "extra" in str(response.json()["detail"])
    assert fake_runner["calls"] == []


def test_a_form_encoded_api_run_is_refused_415(client, fake_runner):
    response = client.post(f"/api/code/exercises/{SLUG}/runs", data={"code": "x"})
    assert response.status_code == 415
    assert fake_runner["calls"] == []


def test_a_run_is_stored_and_counted_in_the_list(client, fake_runner):
    failed = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "wrong"}).json()
    assert failed["passed"] is False
    assert failed["tests"] == [{"name": "shape (2, 3), dim=-1", "passed": False, "message": "最大误差 0.5 at [0, 1]"}]
    assert failed["duration_ms"] == 12
    passed = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right"}).json()
    assert passed["passed"] is True and passed["attempt_id"] > failed["attempt_id"]
    row = next(e for e in client.get("/api/code/exercises").json() if e["slug"] == SLUG)
    assert (row["status"], row["attempts"]) == ("passed", 2)


def test_the_same_request_id_twice_runs_and_writes_once(client, fake_runner, engine):
    body = {"code": "right", "request_id": "run-0123456789abcdef"}
    first = client.post(f"/api/code/exercises/{SLUG}/runs", json=body).json()
    again = client.post(f"/api/code/exercises/{SLUG}/runs", json=body).json()
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["attempt_id"] == first["attempt_id"]
    assert len(fake_runner["calls"]) == 1
    with Session(engine) as s:
        assert len(s.exec(select(CodeAttempt)).all()) == 1
    reused = client.post(f"/api/code/exercises/{SLUG}/runs", json={**body, "code": "other"})
    assert reused.status_code == 422
    assert "request_id was already used" in reused.json()["detail"]


def test_a_second_run_while_one_is_in_progress_is_409_and_a_twin_waits_for_it(file_engine, clock, fake_runner):
    with app_client(file_engine, clock) as client:  # a file database: three requests at once need real connections
        _in_progress_then_twin(client, fake_runner, file_engine)


def _in_progress_then_twin(client, fake_runner, engine) -> None:
    gate = threading.Event()
    fake_runner["gate"]["event"] = gate
    body = {"code": "right", "request_id": "run-first-000001"}
    answers: dict[str, object] = {}
    first = threading.Thread(
        target=lambda: answers.setdefault("first", client.post(f"/api/code/exercises/{SLUG}/runs", json=body))
    )
    twin = threading.Thread(
        target=lambda: answers.setdefault("twin", client.post(f"/api/code/exercises/{SLUG}/runs", json=body))
    )
    first.start()
    deadline = time.monotonic() + 10
    while not fake_runner["calls"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake_runner["calls"], "the first run never started"
    other = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right", "request_id": "run-other-00001"})
    assert other.status_code == 409
    assert "already in progress" in other.json()["detail"]
    twin.start()
    time.sleep(0.2)
    assert twin.is_alive()  # waiting for the first run, not refused and not running again
    gate.set()
    first.join(10)
    twin.join(10)
    one, two = answers["first"].json(), answers["twin"].json()  # type: ignore[attr-defined]
    assert "attempt_id" in one and "attempt_id" in two, (one, two)
    assert one["attempt_id"] == two["attempt_id"] and two["replayed"] is True
    assert len(fake_runner["calls"]) == 1
    with Session(engine) as s:
        assert len(s.exec(select(CodeAttempt)).all()) == 1


def test_a_busy_runner_is_503_with_retry_after(client, fake_runner, monkeypatch):
    monkeypatch.setattr(svc, "BUSY_WAIT_SECONDS", 0.05)
    taken = [svc._slots._server.acquire(timeout=1) for _ in range(svc.MAX_PARALLEL_RUNS)]
    try:
        assert all(taken)
        response = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right"})
    finally:
        for _ in taken:
            svc._slots._server.release()
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(svc.RETRY_AFTER_SECONDS)
    assert "runner is busy" in response.json()["detail"]
    assert fake_runner["calls"] == []
    assert client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right"}).status_code == 200


def test_a_switched_off_runner_is_503_naming_why(client, fake_runner, monkeypatch):
    monkeypatch.setattr(runner, "runner_status", lambda: (False, "CODE_RUNNER=off"))
    response = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right"})
    assert response.status_code == 503
    assert "CODE_RUNNER=off" in response.json()["detail"]
    assert "retry-after" not in response.headers
    assert fake_runner["calls"] == []


def test_the_openapi_schema_states_the_code_bound():
    from app.main import app

    body = app.openapi()["components"]["schemas"]["RunIn"]
    assert body["properties"]["code"]["maxLength"] == 20_000
    assert body["required"] == ["code"]
    assert body["additionalProperties"] is False


# ---------------------------------------------------------------- the real sandboxed runner, end to end


def test_the_reference_solution_passes_and_a_wrong_axis_fails_in_the_real_runner(client):
    enabled, reason = runner.runner_status()
    if not enabled:
        pytest.fail(f"the runner is off in the test environment: {reason}")
    good = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": _solution()}).json()
    assert good["passed"] is True, good
    assert good["tests"] and all(t["passed"] for t in good["tests"])
    bad = client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": WRONG_AXIS}).json()
    assert bad["passed"] is False
    failing = [t for t in bad["tests"] if not t["passed"]]
    assert failing and all(t["message"] for t in failing)


def test_the_card_is_rated_through_the_api_with_the_suggested_rating_and_token(client, fake_runner):
    client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "wrong"})
    client.post(f"/api/code/exercises/{SLUG}/runs", json={"code": "right"})
    rating = client.get(f"/api/code/exercises/{SLUG}").json()["rating"]
    assert (rating["suggested_rating"], rating["runs"], rating["passed"]) == (2, 2, True)
    body = {"rating": rating["suggested_rating"], "review_token": rating["review_token"]}
    first = client.post(f"/api/code/exercises/{SLUG}/ratings", json=body)
    assert first.status_code == 200, first.text
    assert first.json()["question_id"] == get_exercises()[SLUG].card_id and first.json()["replayed"] is False
    again = client.post(f"/api/code/exercises/{SLUG}/ratings", json=body)
    assert again.json()["replayed"] is True and again.json()["log_id"] == first.json()["log_id"]
    after = client.get(f"/api/code/exercises/{SLUG}").json()["rating"]
    assert after["runs"] == 0 and after["suggested_rating"] is None  # a new round starts with the review
    assert after["review_token"] != rating["review_token"]
    listed = next(e for e in client.get("/api/code/exercises").json() if e["slug"] == SLUG)
    assert datetime.fromisoformat(listed["due"]) == datetime.fromisoformat(first.json()["due"])


@pytest.mark.parametrize(
    "body,status",
    [({"rating": 5, "review_token": "x"}, 422), ({"rating": 3}, 422), ({"rating": 3, "review_token": "stale"}, 422)],
)
def test_bad_ratings_are_refused(client, body, status):
    response = client.post(f"/api/code/exercises/{SLUG}/ratings", json=body)
    assert response.status_code == status
    assert client.get("/api/drill/cards").status_code == 200


def test_a_syntax_error_is_a_stored_failed_run_naming_the_line(client):
    enabled, reason = runner.runner_status()
    if not enabled:
        pytest.fail(f"the runner is off in the test environment: {reason}")
    body = client.post(
        f"/api/code/exercises/{SLUG}/runs", json={"code": "def softmax(x, dim=-1)\n    return x\n"}
    ).json()
    assert body["passed"] is False and body["tests"] == []
    assert body["error"] and "1" in body["error"], body["error"]  # the line of the missing colon
    listed = next(e for e in client.get("/api/code/exercises").json() if e["slug"] == SLUG)
    assert (listed["status"], listed["attempts"]) == ("failed", 1)
