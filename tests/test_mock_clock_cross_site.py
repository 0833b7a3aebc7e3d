"""Another site cannot start a mock question's countdown with a GET (`<img>`, `<iframe>`, no-cors fetch).

Viewing a mock session starts its current question's clock (the one write a page view makes). Found by
attacking a real server: after the learner confirmed question 1, `<img src=http://127.0.0.1:8000/mock/1>` on
any page started question 2's countdown, and with a hard stop could run out its time unseen. Now only the
app's own pages, a typed address or bookmark, a client without Fetch Metadata, and a top-level navigation
the learner sees start it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import screenshot
from tests.test_csrf_browser import ATTACKER_NAME, attacker, hostile_browser  # noqa: F401 (fixtures)
from tests.utils.csrf import JSON

SUBRESOURCE = [
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"},
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"},
    {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "empty"},
    {"Sec-Fetch-Site": "CROSS-SITE", "Sec-Fetch-Dest": "script"},
]
OWN_OR_SEEN = [
    {},  # curl, scripts, older browsers
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
    {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"},  # the page's htmx
    {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # typed, bookmark
    {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},  # a link: seen
]


def _second_question_waiting(get, post) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """A session whose first question is answered and confirmed: the second one is current, not yet shown."""
    mock = post("/api/mock-sessions", json={"count": 3, "seed": 7, "hard_stop": True}, headers=JSON).json()
    first = mock["current"]["question_id"]
    post(f"/api/mock-sessions/{mock['id']}/answers", json={"question_id": first, "text": "softmax"}, headers=JSON)
    post(f"/api/mock-sessions/{mock['id']}/answers/{first}/confirm", json={"rating": 3}, headers=JSON)
    second = mock["questions"][1]["question_id"]
    assert _started(get, mock["id"], second) is None
    return mock["id"], second


def _started(get, mock_id: int, question_id: str) -> str | None:  # type: ignore[no-untyped-def]
    """The question's clock start, read through a GET that never starts it."""
    return get(f"/api/mock-sessions/{mock_id}/answers/{question_id}").json()["started_at"]


@pytest.mark.parametrize("path", ["/mock/{id}", "/api/mock-sessions/{id}"])
@pytest.mark.parametrize("headers", SUBRESOURCE, ids=lambda h: f"{h['Sec-Fetch-Site']}-{h['Sec-Fetch-Dest']}")
def test_another_sites_subresource_get_does_not_start_the_clock(client, path, headers):
    mock_id, second = _second_question_waiting(client.get, client.post)
    response = client.get(path.format(id=mock_id), headers=headers)
    assert response.status_code == 200  # answered (the attacker cannot read it), just without the write
    assert _started(client.get, mock_id, second) is None


@pytest.mark.parametrize("path", ["/mock/{id}", "/api/mock-sessions/{id}"])
@pytest.mark.parametrize("headers", OWN_OR_SEEN, ids=["no-metadata", "own-page", "own-htmx", "typed", "link"])
def test_the_learners_own_view_starts_the_clock(client, path, headers):
    mock_id, second = _second_question_waiting(client.get, client.post)
    response = client.get(path.format(id=mock_id), headers=headers)
    assert response.status_code == 200
    assert _started(client.get, mock_id, second) is not None


def test_the_unstarted_page_still_shows_the_question_without_losing_time(client):
    """What a cross-site request gets is the page as it will be: full time left, nothing started."""
    mock_id, second = _second_question_waiting(client.get, client.post)
    page = client.get(f"/mock/{mock_id}", headers=SUBRESOURCE[0])
    view = client.get(f"/api/mock-sessions/{mock_id}", headers=SUBRESOURCE[0]).json()
    assert page.status_code == 200 and view["current"]["question_id"] == second
    assert view["current"]["seconds_remaining"] == view["current"]["seconds_allowed"]


ATTACK = """<!doctype html><html><head><meta charset="utf-8"><title>cats</title></head><body>
<img src="{app}/mock/{id}" alt=""><img src="{app}/api/mock-sessions/{id}" alt="">
<iframe src="{app}/mock/{id}"></iframe>
<script>
fetch("{app}/api/mock-sessions/{id}", {{mode: "no-cors"}}).then(
  function () {{ document.title = "done"; }}, function () {{ document.title = "done"; }});
</script></body></html>"""


@pytest.mark.browser
def test_a_hostile_page_cannot_start_the_countdown_in_chromium(live_server, hostile_browser, attacker, browser):  # noqa: F811
    server, handler = attacker
    mock_id, second = _second_question_waiting(
        lambda path: httpx.get(live_server.url + path, timeout=10),
        lambda path, **kw: httpx.post(live_server.url + path, timeout=10, **kw),
    )
    handler.page = ATTACK.format(app=live_server.url, id=mock_id).encode()
    sent: list[str] = []  # what Chromium sent to the app (resource types)
    context = hostile_browser.new_context()
    page = context.new_page()
    page.on("request", lambda r: sent.append(r.resource_type) if r.url.startswith(live_server.url) else None)
    page.goto(f"http://{ATTACKER_NAME}:{server.server_address[1]}/")
    page.wait_for_function("document.title === 'done'", timeout=20_000)
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    screenshot(page, "mock-clock-attacker")
    context.close()
    get = lambda path: httpx.get(live_server.url + path, timeout=10)  # noqa: E731
    assert {"image", "fetch", "document"} <= set(sent), f"the attack page did not send everything: {sent}"
    assert _started(get, mock_id, second) is None

    # the learner opening the session in their own browser starts it
    own = browser.new_context()
    learner = own.new_page()
    learner.goto(f"{live_server.url}/mock/{mock_id}")
    assert learner.locator("body").inner_text()  # the page rendered
    own.close()
    assert _started(get, mock_id, second) is not None
