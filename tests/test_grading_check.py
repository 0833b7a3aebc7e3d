"""check_answer on the bank: misconceptions, relations, English inflections, reasons, score and rating."""

from __future__ import annotations

import pytest

from app.grading import (
    AnswerCheck,
    KeyPointCheck,
    MisconceptionHit,
    answer_score,
    check_answer,
    check_key_points,
    rating_for_score,
    suggested_rating,
)
from app.grading.spans import highlight_pieces
from app.question_bank import KeyPoint, Misconception, get_bank

BANK = get_bank()


def labels(check: AnswerCheck) -> list[str]:
    return [m.label for m in check.misconceptions]


def words_at(text: str, spans) -> list[str]:
    return [text[s:e] for s, e in spans]


# ---------------------------------------------------------------- the wrong answers


def test_negated_scaling_answer_scores_low_and_names_the_misconception():
    text = "其实不需要除以根号dk，softmax 也不会饱和"
    check = check_answer(text, BANK["q04"])
    assert labels(check) == ["说点积不需要缩放"]
    assert check.misconceptions[0].words == "不需要除以"
    assert words_at(text, check.misconceptions[0].spans) == ["不需要除以"]
    scale_point = check.key_points[2]
    assert scale_point.verdict == "missed" and scale_point.capped_by == [0]
    assert scale_point.reason.startswith("误区：说点积不需要缩放（“不需要除以”）→ 记为未覆盖")
    saturation = check.key_points[1]
    assert saturation.verdict == "partly" and "‘饱和’被‘不’否定" in saturation.reason
    assert check.score == 0.0
    assert check.suggested_rating == 1
    assert check.rating_reason == "检测到误区：说点积不需要缩放，建议最多 Hard"


def test_swapped_sources_in_cross_attention_cover_neither_relation():
    text = "Q 来自 encoder 的输出，K、V 来自 decoder"
    check = check_answer(text, BANK["q10"])
    assert labels(check) == ["把 Q/K/V 的来源说反（Q 来自 encoder，或 K/V 来自 decoder）"]
    assert [kp.verdict for kp in check.key_points[:2]] == ["missed", "missed"]
    assert check.score == 0.0


def test_the_right_sources_cover_the_relations_even_split_over_clauses():
    text = "Q 来自 decoder 自己，也就是本层掩码自注意力的输出；K 和 V 都来自 encoder 最后一层的输出。"
    check = check_answer(text, BANK["q10"])
    assert check.misconceptions == []
    assert [kp.verdict for kp in check.key_points[:2]] == ["covered", "covered"]


def test_a_relation_needs_its_two_concepts_in_one_clause():
    question = BANK["q10"]
    # Q and decoder both appear, but in different clauses: that is not "Q comes from the decoder".
    check = check_answer("K 和 V 来自 decoder，Q 另算。", question)
    assert check.key_points[0].verdict == "missed"
    assert "要在同一句里说清：Q/query + decoder/解码器" in check.key_points[0].reason


def test_swapped_sources_in_english_with_while_cover_neither_relation():
    text = "The queries are computed from the encoder output while keys and values are taken from the decoder."
    check = check_answer(text, BANK["q10"])
    assert [kp.verdict for kp in check.key_points[:2]] == ["missed", "missed"]


def test_a_relation_with_one_side_named_is_partly_covered():
    check = check_answer("Q 是 decoder 的东西", BANK["q10"])
    assert check.key_points[0].verdict == "partly"  # Q and decoder together; the sub-layer is missing
    check = check_answer("这里用到了 query。", BANK["q10"])
    assert check.key_points[0].verdict == "partly"  # one side named, no relation claimed


def test_softmax_by_column_is_a_misconception():
    check = check_answer("softmax 按列做，每列和为 1", BANK["q03"])
    assert labels(check) == ["softmax 沿列（query 维）归一化，每列和为 1"]
    assert check.key_points[2].verdict == "missed"
    assert check.suggested_rating == 1


def test_flash_attention_linear_complexity_is_a_misconception():
    text = "FlashAttention 把复杂度降到 O(n)，所以长序列没问题。"
    check = check_answer(text, BANK["q11"])
    assert labels(check) == ["FlashAttention 把复杂度降到 O(n)"]
    assert check.misconceptions[0].words == "FlashAttention 把复杂度降到 O(n)"
    assert check.key_points[6].verdict == "missed"


@pytest.mark.parametrize(
    "text",
    [
        "FlashAttention 并没有把复杂度降到 O(n)，FLOPs 仍是 O(n²)。",
        "很多人误以为 FlashAttention 把复杂度降到了 O(n)，其实只是显存 O(n)。",
        "“FlashAttention 把复杂度降到 O(n)”是错的。",
        "A common misconception: FlashAttention reduces the complexity to O(n).",
    ],
)
def test_a_misconception_taken_back_or_refuted_does_not_fire(text):
    assert check_answer(text, BANK["q11"]).misconceptions == []


def test_a_conditional_negator_in_a_pattern_does_not_fire():
    assert check_answer("如果不用缩放，softmax 就会饱和", BANK["q04"]).misconceptions == []


def test_reference_answers_state_no_misconception_and_score_high():
    for qid in ("q03", "q04", "q10", "q11", "q15"):
        question = BANK[qid]
        check = check_answer(question.answer, question)
        assert check.misconceptions == [], qid
        assert check.score >= 75, (qid, check.score)


# ---------------------------------------------------------------- spans and highlighting


def test_spans_point_at_the_learners_own_characters_after_normalisation():
    # full-width characters and superscripts change length when normalised; spans must not drift
    text = "ＦｌａｓｈＡｔｔｅｎｔｉｏｎ　把复杂度降到Ｏ（ｎ）；而 QKᵀ 的复杂度是 O(n²)。"
    check = check_answer(text, BANK["q11"])
    (hit,) = check.misconceptions
    assert words_at(text, hit.spans) == ["ＦｌａｓｈＡｔｔｅｎｔｉｏｎ　把复杂度降到Ｏ（ｎ）"]
    assert words_at(text, check.key_points[0].spans) == ["n²"]


def test_highlight_pieces_mark_misconception_words_apart_from_hits():
    text = "每一行都做 softmax 按列做，输出 n×d_v"
    check = check_answer(text, BANK["q03"])
    wrong = [span for m in check.misconceptions for span in m.spans]
    pieces = highlight_pieces(text, check.spans, wrong)
    assert "".join(p for p, _ in pieces) == text
    assert ("softmax 按列", "wrong") in pieces  # the whole claim, although "softmax" is also a keyword
    assert ("每一行", "hit") in pieces and ("n×d_v", "hit") in pieces


# ---------------------------------------------------------------- English inflections


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("mask", "the masked positions"),
        ("mask", "masking the future"),
        ("normalize", "layer normalization"),
        ("normalization", "we normalize each token"),
        ("layer norm", "Layer Normalization after the residual"),
        ("scale", "scaling by sqrt(d_k)"),
        ("saturation", "softmax saturates"),
        ("query", "the queries"),
        ("pad", "padding tokens"),
        ("embed", "embedding table"),
        ("cache", "cached keys"),
    ],
)
def test_english_keywords_match_their_inflections(keyword, text):
    key_point = KeyPoint(label="kp", keywords=[[keyword]])
    assert check_key_points(text, [key_point]).key_points[0].verdict == "covered"


@pytest.mark.parametrize(("keyword", "text"), [("head", "header"), ("mask", "unmasked"), ("norm", "enormous")])
def test_inflections_do_not_reach_other_words(keyword, text):
    key_point = KeyPoint(label="kp", keywords=[[keyword]])
    assert check_key_points(text, [key_point]).key_points[0].verdict == "missed"


# ---------------------------------------------------------------- misconception matching rules


def misconception(*patterns, max_gap: int = 8) -> Misconception:
    return Misconception(label="wrong", correction="right", key_points=[0], patterns=list(patterns), max_gap=max_gap)


def test_pattern_groups_must_come_in_order_within_the_gap_and_one_clause():
    key_points = [KeyPoint(label="kp", keywords=[["decoder"]])]
    m = misconception([["Q"], ["来自"], ["encoder"]])
    fired = lambda text: bool(check_key_points(text, key_points, [m]).misconceptions)  # noqa: E731
    assert fired("Q 来自 encoder")
    assert not fired("encoder 来自 Q")  # order matters
    assert not fired("Q 是在每一层里都会用到的、来自 encoder")  # too far apart
    assert not fired("Q 来自，encoder")  # not in one clause
    assert not fired("Q 这个向量通常也都是来自 encoder")  # 10 characters between Q and 来自 > 8
    wider = misconception([["Q"], ["来自"], ["encoder"]], max_gap=12)
    assert check_key_points("Q 这个向量通常也都是来自 encoder", key_points, [wider]).misconceptions


def test_a_fired_misconception_caps_every_listed_key_point():
    key_points = [KeyPoint(label="a", keywords=[["alpha"]]), KeyPoint(label="b", keywords=[["beta"]])]
    m = Misconception(label="w", correction="r", key_points=[0, 1], patterns=[[["alpha"], ["beta"]]])
    check = check_key_points("alpha beta", key_points, [m])
    assert [kp.verdict for kp in check.key_points] == ["missed", "missed"]
    assert check.coverage == 0.0 and check.score == 0.0


# ---------------------------------------------------------------- score and rating


def test_score_is_coverage_minus_25_per_misconception_never_below_zero():
    assert answer_score(["covered", "covered"], [1, 1]) == 100.0
    assert answer_score(["covered", "missed"], [1, 1], misconceptions=1) == 25.0
    assert answer_score(["covered", "missed"], [1, 1], misconceptions=3) == 0.0
    with pytest.raises(ValueError, match="misconceptions must be 0 or more"):
        answer_score(["covered"], [1], misconceptions=-1)


@pytest.mark.parametrize(
    ("score", "misconception", "rating"),
    [(100, False, 4), (100, True, 2), (75, True, 2), (45, True, 2), (30, True, 1), (90, False, 4), (70, False, 3)],
)
def test_a_misconception_caps_the_suggested_rating_at_hard(score, misconception, rating):
    assert rating_for_score(score, misconception=misconception) == rating


def test_suggested_rating_counts_misconceptions():
    assert suggested_rating(["covered"] * 4, [1] * 4) == 4
    assert suggested_rating(["covered"] * 4 + ["missed"], [1] * 5, misconceptions=1) == 2  # 80 − 25 = 55: Hard
    assert suggested_rating(["covered"] * 10, [1] * 10, misconceptions=1) == 2  # 75 would be Good: capped
    assert suggested_rating(["covered", "missed", "missed"], [1] * 3, misconceptions=1) == 1  # 33 − 25: Again


# ---------------------------------------------------------------- serialisation


def test_check_round_trips_and_old_dicts_without_reasons_load():
    check = check_answer("其实不需要除以根号dk，softmax 也不会饱和", BANK["q04"])
    data = check.to_dict()
    assert set(data) == {"score", "coverage", "key_points", "misconceptions", "suggested_rating", "rating_reason"}
    assert [KeyPointCheck.from_dict(k) for k in data["key_points"]] == check.key_points
    assert [MisconceptionHit.from_dict(m) for m in data["misconceptions"]] == check.misconceptions
    old = {"index": 0, "label": "x", "weight": 1, "verdict": "covered", "spans": [[0, 2]], "matched_keywords": ["x"],
           "groups_matched": 1, "groups_total": 1}  # fmt: skip
    loaded = KeyPointCheck.from_dict(old)
    assert loaded.reason == "" and loaded.negated == [] and loaded.capped_by == []


def test_blank_answer_misses_everything_with_a_plain_reason():
    check = check_answer("   ", BANK["q04"])
    assert check.verdicts == ["missed"] * len(BANK["q04"].key_points)
    assert {kp.reason for kp in check.key_points} == {"未作答"}
    assert check.misconceptions == [] and check.score == 0.0 and check.suggested_rating == 1
