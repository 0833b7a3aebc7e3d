"""Question bank search hits (highlighted title, snippets of where the words matched) and the tag filter."""

from __future__ import annotations

import re

import pytest

from app.services import questions as svc


def _marked(segments) -> str:
    return "".join(f"[{s.text}]" if s.hit else s.text for s in segments)


def test_title_hits_are_marked_in_the_title():
    hits = svc.search_hits(svc.QuestionFilter(text="缩放"))
    assert hits[0].question.id == "q04"
    assert _marked(hits[0].title) == "为什么要[缩放]点积？[缩放]因子是什么？"
    assert hits[0].snippets == ()


def test_answer_only_hit_gets_a_snippet_centred_on_the_word():
    hits = {h.question.id: h for h in svc.search_hits(svc.QuestionFilter(text="缩放"))}
    q08 = hits["q08"]
    assert q08.title is None
    (snippet,) = q08.snippets
    assert snippet.field == "参考答案 answer"
    text = _marked(snippet.segments)
    assert "[缩放]" in text and text.startswith("…")
    assert len(text) <= 3 * svc.SNIPPET_CONTEXT + 10  # a snippet, not the whole answer
    assert "\n" not in text


def test_case_and_width_are_folded_but_original_text_is_marked():
    hits = {h.question.id: h for h in svc.search_hits(svc.QuestionFilter(text="ＫＶ cache"))}
    marked = _marked(hits["q05"].snippets[0].segments)
    assert "[KV]" in marked and "[cache]" in marked


def test_each_word_missing_from_the_title_gets_its_own_snippet():
    hits = {h.question.id: h for h in svc.search_hits(svc.QuestionFilter(text="应对 BIGGEST"))}
    english, answer = hits["q29"].snippets
    assert english.field == "英文题目 question" and "[biggest]" in _marked(english.segments)
    assert answer.field == "参考答案 answer" and "[应对]" in _marked(answer.segments)


def test_a_word_in_a_tag_marks_the_tag_instead_of_a_snippet():
    hits = {h.question.id: h for h in svc.search_hits(svc.QuestionFilter(text="kv"))}
    assert hits["q14"].tags == frozenset({"kv-cache"})
    assert all(s.field != "标签 tags" for h in hits.values() for s in h.snippets)


def test_markdown_marks_are_dropped_from_snippets():
    hits = {h.question.id: h for h in svc.search_hits(svc.QuestionFilter(text="应对"))}
    text = _marked(hits["q29"].snippets[0].segments)
    assert "*" not in text and "[应对]" in text


def test_tag_filter_combines_with_category_difficulty_and_search():
    tagged = svc.filter_questions(svc.QuestionFilter(tag="kv-cache"))
    assert tagged and all("kv-cache" in q.tags for q in tagged)
    both = svc.filter_questions(svc.QuestionFilter(tag="kv-cache", text="gqa"))
    assert {q.id for q in both} < {q.id for q in tagged}
    none = svc.filter_questions(svc.QuestionFilter(tag="kv-cache", difficulty=1))
    assert all(q.difficulty == 1 for q in none)


def test_tags_are_counted_most_common_first():
    tags = svc.all_tags()
    counts = [n for _, n in tags]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) == sum(len(q.tags) for q in svc.all_questions())


def test_unknown_tag_is_refused_with_its_name():
    with pytest.raises(ValueError, match="未知标签 unknown tag：nope"):
        svc.QuestionFilter(tag="nope")


# ---------------------------------------------------------------- the page


def test_page_marks_hits_and_escapes_the_snippet(client):
    html = client.get("/questions", params={"q": "缩放"}).text
    assert "为什么要<mark>缩放</mark>点积？<mark>缩放</mark>因子是什么？" in html
    assert 'class="search-snippet"' in html
    html = client.get("/questions", params={"q": "kv"}).text
    assert "<mark>kv-cache</mark></a>" in html  # the tag chip that holds the word


def test_markup_characters_are_escaped_inside_marks(client):
    # "<pad>" and "<eos>" are in the bank: a search for "<pad" marks the escaped text, never a tag
    html = client.get("/questions", params={"q": "<pad"}).text
    assert "<mark>&lt;pad</mark>&gt;" in html
    assert "<pad>" not in html
    html = client.get("/questions", params={"q": "<b>缩放"}).text
    assert "<b>" not in html and "&lt;b&gt;缩放" in html  # echoed escaped in the box, no hits


def test_tag_parameter_filters_and_chips_keep_the_other_filters(client):
    html = client.get("/questions", params={"tag": "kv-cache", "category": "depth"}).text
    ids = re.findall(r'href="/questions/(q\d\d)"', html)
    expected = [q.id for q in svc.filter_questions(svc.QuestionFilter(tag="kv-cache", category="depth"))]
    assert ids == expected and ids
    # every chip keeps the category; the active tag has a remove link back to the category alone
    chips = re.findall(r'class="tag[^"]*" href="([^"]+)"', html)
    assert chips and all("category=depth" in href for href in chips)
    assert 'href="/questions?category=depth" aria-label="去掉标签 kv-cache"' in html
    assert '<option value="kv-cache" selected>' in html


def test_unknown_tag_is_a_422_with_a_chinese_message(client):
    response = client.get("/questions", params={"tag": "<script>x"})
    assert response.status_code == 422
    assert "未知标签 unknown tag：&lt;script&gt;x" in response.text
