"""Server-rendered pages: list, filter, search, detail, notes, errors, escaping, offline."""

from __future__ import annotations

import re

import pytest

from app.question_bank import NOTES_SECTIONS


def test_home_links_every_area(client):
    html = client.get("/").text
    for href in ("/drill", "/mock", "/questions", "/notes", "/visualize"):
        assert f'href="{href}"' in html


def test_question_list_filters_by_category_and_difficulty(client):
    html = client.get("/questions", params={"category": "implementation"}).text
    assert len(re.findall(r'data-category="implementation"', html)) == 4
    assert 'data-category="basics"' not in html
    html = client.get("/questions", params={"difficulty": "1"}).text
    assert "共 " in html


def test_htmx_request_gets_only_the_fragment(client):
    response = client.get("/questions", params={"q": "KV"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<section id="question-list"')
    assert "<html" not in response.text


def test_search_finds_kv_cache_question(client):
    html = client.get("/questions", params={"q": "kv cache"}).text
    assert "/questions/q14" in html


def test_search_ranks_question_text_first(client):
    html = client.get("/questions", params={"q": "位置编码"}).text
    ids = re.findall(r'href="/questions/(q\d\d)"', html)
    assert ids[0] in {"q06", "q12"} and ids[1] in {"q06", "q12"}
    assert len(ids) > 2  # answers that only mention it still appear, further down


@pytest.mark.parametrize("text", ["", "😀🔥", "مرحبا", "a\u0301\u0000", "x" * 10_000, "<script>alert(1)</script>"])
def test_search_with_any_input_never_500(client, text):
    response = client.get("/questions", params={"q": text})
    assert response.status_code in (200, 422)
    assert "<script>alert(1)</script>" not in response.text


def test_too_long_search_explains_the_limit(client):
    response = client.get("/questions", params={"q": "x" * 10_000})
    assert response.status_code == 422
    assert "最多 200 个字符" in response.text


def test_search_is_escaped(client):
    html = client.get("/questions", params={"q": '"><img src=x onerror=alert(1)>'}).text
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html or "&#34;&gt;&lt;img" in html


def test_question_detail_has_answer_key_points_followups_and_links(client):
    html = client.get("/questions/q04").text
    assert 'class="math inline"' in html or 'class="math block"' in html
    assert "答题要点" in html and "追问" in html
    assert 'href="/notes/' in html


def test_unknown_question_is_friendly_html_404(client):
    response = client.get("/questions/q99")
    assert response.status_code == 404
    assert "页面不存在" in response.text and "<html" in response.text


def test_unknown_page_is_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "回到首页" in response.text


@pytest.mark.parametrize("slug", list(NOTES_SECTIONS))
def test_every_note_renders(client, slug):
    response = client.get(f"/notes/{slug}")
    assert response.status_code == 200
    assert "<h1>" in response.text


def test_pages_reference_no_external_url(client):
    paths = ("/", "/questions", "/questions/q04", "/notes/self-attention", "/notes", "/drill", "/stats")
    for path in (*paths, "/settings", "/mock", "/mock/history", "/visualize", "/docs"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path


def test_static_css_and_js_reference_no_external_url():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "static"
    for path in list(root.glob("css/*.css")) + list(root.glob("js/*.js")):
        # XML namespace names (xmlns="http://www.w3.org/2000/svg") identify, they are never fetched.
        text = re.sub(r"http://www\.w3\.org/[\w/.]+", "", path.read_text(encoding="utf-8"))
        assert not re.search(r"https?://", text), path


def test_question_pages_link_every_demo_that_illustrates_them(client):
    from app.demos import DEMOS
    from app.question_bank import get_bank

    bank = get_bank()
    for demo in DEMOS.values():
        assert set(demo.also) <= set(bank), demo.slug
    for qid, question in bank.items():
        html = client.get(f"/questions/{qid}").text
        expected = {d.slug for d in DEMOS.values() if qid in d.also} | ({question.demo} if question.demo else set())
        for slug in expected:
            assert f'href="/visualize/{slug}"' in html, (qid, slug)
    # q08 (multi-head formula) names no demo of its own, yet step by step shows its computation
    assert 'href="/visualize/step-by-step"' in client.get("/questions/q08").text


def test_pages_carry_a_strict_content_security_policy(client):
    from app.security import CONTENT_SECURITY_POLICY

    for path in ("/", "/drill", "/visualize", "/api/questions", "/static/css/app.css"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY.split("script-src")[1].split(";")[0]
    docs = client.get("/docs")  # Swagger UI starts from static/js/swagger-init.js, so the same policy holds
    assert docs.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in docs.text and '<script src="/static/js/swagger-init.js"' in docs.text


def test_every_link_in_the_study_notes_leads_somewhere(client):
    from pathlib import Path

    notes = Path(__file__).resolve().parent.parent / "question_bank" / "notes"
    links = {m for p in notes.glob("*.md") for m in re.findall(r"\]\((/[^)\s]*)\)", p.read_text(encoding="utf-8"))}
    assert any(link.startswith("/drill?focus=") for link in links)  # the review plan's focused drills
    for link in sorted(links):
        assert client.get(link).status_code == 200, link
