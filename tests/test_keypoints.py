"""Tests for key-point matching: verdicts, exact highlight spans, notations, word boundaries, scores.

(Negation, relations and misconceptions: tests/test_grading_*.py.)"""

from __future__ import annotations

import json

import pytest

from app.grading import (
    KeyPointResult,
    compile_keyword,
    coverage_score,
    highlight_segments,
    merge_spans,
    normalise,
    suggested_rating,
)
from app.grading import check_key_points as grade
from app.question_bank import KeyPoint


def check_key_points(text: str, key_points: list[KeyPoint]) -> list[KeyPointResult]:
    return grade(text, key_points).key_points


def kp(*groups: list[str], label: str = "kp", weight: int = 1) -> KeyPoint:
    return KeyPoint(label=label, keywords=[list(g) for g in groups], weight=weight)


def span_of(text: str, piece: str, start: int = 0) -> tuple[int, int]:
    """The [start, end) of the first occurrence of `piece` (found independently of the checker)."""
    i = text.index(piece, start)
    return (i, i + len(piece))


def pieces(text: str, result: KeyPointResult) -> list[str]:
    return [text[s:e] for s, e in result.spans]


# Key points of the scaling question, as a bank author would write them.
SCALING = [
    kp(["方差", "variance"], ["d_k", "维度", "dimension"], label="点积方差随 d_k 线性增长", weight=2),
    kp(["√d_k"], label="除以 √d_k", weight=3),
    kp(
        ["softmax"],
        ["饱和", "saturate", "saturation", "梯度消失", "vanishing gradient"],
        label="softmax 饱和、梯度消失",
    ),
    kp(["temperature", "温度"], label="可看作温度", weight=1),
]


# ---------------------------------------------------------------- real answers


def test_chinese_answer_gets_exact_verdicts_and_spans():
    text = "q 和 k 的点积方差会随 d_k 线性增长，值太大时 softmax 会饱和，梯度很小。所以要除以根号下 d_k。"
    results = check_key_points(text, SCALING)

    assert [r.verdict for r in results] == ["covered", "covered", "covered", "missed"]
    second_dk = span_of(text, "d_k", span_of(text, "d_k")[1])
    assert results[0].spans == [span_of(text, "方差"), span_of(text, "d_k"), second_dk]
    assert pieces(text, results[1]) == ["根号下 d_k"]
    assert results[1].matched_keywords == ["√d_k"]
    # "d_k" inside "根号下 d_k" is highlighted for the variance point too.
    assert pieces(text, results[0]) == ["方差", "d_k", "d_k"]
    assert pieces(text, results[2]) == ["softmax", "饱和"]
    assert (results[2].groups_matched, results[2].groups_total) == (2, 2)
    assert results[3].spans == [] and results[3].matched_keywords == []


def test_english_answer_gets_exact_verdicts_and_spans():
    text = (
        "The dot product of q and k has variance d_k, so large logits push softmax into saturation "
        "and gradients vanish. Dividing by sqrt(d_k) keeps the variance at 1."
    )
    results = check_key_points(text, SCALING)

    assert [r.verdict for r in results] == ["covered", "covered", "covered", "missed"]
    assert pieces(text, results[0]) == ["variance", "d_k", "d_k", "variance"]
    assert results[0].matched_keywords == ["variance", "d_k"]
    assert results[1].spans == [span_of(text, "sqrt(d_k)")]
    assert pieces(text, results[2]) == ["softmax", "saturation"]
    # "saturate" matches "saturation" too (English inflections)
    assert results[2].matched_keywords == ["softmax", "saturate", "saturation"]


def test_mixed_answer_with_partial_points():
    text = "Scaled dot-product attention 要除以 √dk，否则 softmax 太 sharp。可以理解成一个 temperature。"
    results = check_key_points(text, SCALING)

    assert [r.verdict for r in results] == ["partly", "covered", "partly", "covered"]
    assert pieces(text, results[0]) == ["dk"]
    assert results[0].groups_matched == 1
    assert pieces(text, results[1]) == ["√dk"]
    assert pieces(text, results[3]) == ["temperature"]


def test_full_width_input_matches_and_spans_point_at_the_full_width_characters():
    text = "除以√ｄ＿ｋ，防止ＳｏｆｔＭａｘ饱和；ＫＶ　Ｃａｃｈｅ 用于推理。"
    results = check_key_points(text, [*SCALING[1:3], kp(["kv cache"])])

    assert [r.verdict for r in results] == ["covered", "covered", "covered"]
    assert pieces(text, results[0]) == ["√ｄ＿ｋ"]
    assert pieces(text, results[1]) == ["ＳｏｆｔＭａｘ饱和"]  # touching spans are joined
    assert pieces(text, results[2]) == ["ＫＶ　Ｃａｃｈｅ"]


def test_spans_stay_exact_after_camel_case_boundaries():
    text = "FlashAttention 和 LayerNorm 之后，KV cache 照样用。"
    results = check_key_points(text, [kp(["kv cache"]), kp(["flash"], ["norm"])])
    assert results[0].spans == [span_of(text, "KV cache")]
    assert results[1].spans == [span_of(text, "Flash"), span_of(text, "Norm")]


def test_spans_stay_exact_after_characters_that_expand_when_normalised():
    # "²" becomes "^2" and "ß" becomes "ss": later offsets must still point into the original.
    text = "Attention ist O(n²) – große Sequenzen; KV cache hilft."
    results = check_key_points(text, [kp(["O(n^2)"]), kp(["kv cache"]), kp(["große"])])

    assert [r.verdict for r in results] == ["covered", "covered", "covered"]
    assert results[0].spans == [span_of(text, "O(n²)")]
    assert results[1].spans == [span_of(text, "KV cache")]
    assert results[2].spans == [span_of(text, "große")]
    assert normalise(text)[0].startswith("attention ist o(n^2) – grosse")


def test_empty_and_whitespace_answers_miss_everything_without_error():
    for text in ["", "   ", "\n\t\u3000"]:
        results = check_key_points(text, SCALING)
        assert [r.verdict for r in results] == ["missed"] * 4
        assert all(r.spans == [] and r.groups_matched == 0 for r in results)


def test_results_carry_index_label_weight_and_group_counts():
    results = check_key_points("variance", SCALING)
    assert [(r.index, r.label, r.weight) for r in results] == [
        (0, "点积方差随 d_k 线性增长", 2),
        (1, "除以 √d_k", 3),
        (2, "softmax 饱和、梯度消失", 1),
        (3, "可看作温度", 1),
    ]
    assert [(r.groups_matched, r.groups_total) for r in results] == [(1, 2), (0, 1), (0, 2), (0, 1)]


# ---------------------------------------------------------------- math notations

SQRT_SPELLINGS = [
    "√d_k",
    "√(d_k)",
    "√ d_k",
    "√dk",
    "sqrt(d_k)",
    "sqrt(dk)",
    "SQRT( d_k )",
    "\\sqrt{d_k}",
    "\\sqrt{d_{k}}",
    "根号d_k",
    "根号 d_k",
    "根号下d_k",
    "根号下 d k",
    "开根号d_k",
    "d_k^0.5",
    "d_k^.5",
    "d_k ^ 0.5",
    "dk^0.5",
    "d_k^(1/2)",
    "d_k^{1/2}",
    "d_k^\\frac{1}{2}",
    "d_k^½",
    "d_k**0.5",
    "d_k ** -0.5",
    "d_k^(-1/2)",
    "d_k^{-\\frac{1}{2}}",
    "(d_k)^0.5",
    "d_k的平方根",
    "d_k 开根号",
    "d_k开方",
    "sqrt of d_k",
    "square root of d_k",
    "Square root of dk",
]


@pytest.mark.parametrize("spelling", SQRT_SPELLINGS)
def test_every_square_root_spelling_in_the_answer_matches_and_is_highlighted_whole(spelling):
    text = f"点积要除以 {spelling} 来缩放。"
    (result,) = check_key_points(text, [kp(["√d_k"])])
    assert result.verdict == "covered"
    assert pieces(text, result) == [spelling]


@pytest.mark.parametrize(
    "keyword", ["√d_k", "sqrt(d_k)", "\\sqrt{d_k}", "根号 d_k", "根号下d_k", "d_k^0.5", "d_k^(1/2)", "dk**0.5"]
)
def test_every_square_root_spelling_in_the_bank_means_the_same(keyword):
    assert compile_keyword(keyword).pattern == compile_keyword("√d_k").pattern
    text = "scores = QK^T / sqrt(dk)"
    (result,) = check_key_points(text, [kp([keyword])])
    assert result.verdict == "covered"
    assert pieces(text, result) == ["sqrt(dk)"]


@pytest.mark.parametrize("text", ["除以 d_model 的平方根", "divide by sqrt(d_model)", "d_k", "dk 很大", "d_k^2"])
def test_square_root_of_something_else_or_no_root_does_not_match(text):
    (result,) = check_key_points(text, [kp(["√d_k"])])
    assert result.verdict == "missed"


@pytest.mark.parametrize("text", ["dk", "d_k", "d k", "D_K", "d-k", "d_{k}", "ｄ＿ｋ", "dₖ"])
def test_subscript_spellings_are_equal(text):
    (result,) = check_key_points(f"维度 {text} 越大", [kp(["d_k"])])
    assert result.verdict == "covered"
    assert pieces(f"维度 {text} 越大", result) == [text]


@pytest.mark.parametrize("text", ["d_model", "dkl", "odk"])
def test_subscript_keyword_does_not_match_other_identifiers(text):
    (result,) = check_key_points(text, [kp(["d_k"])])
    assert result.verdict == "missed"


@pytest.mark.parametrize(
    "spelling", ["O(n^2)", "O(n²)", "O(n*n)", "O(N^2)", "O（n^2）", "O(n^{2})", "O(n×n)", "O(n**2)", "O(n 平方)"]
)
def test_quadratic_complexity_spellings_match(spelling):
    text = f"自注意力的复杂度是 {spelling}。"
    (result,) = check_key_points(text, [kp(["O(n^2)"])])
    assert result.verdict == "covered"
    assert pieces(text, result) == [spelling]


@pytest.mark.parametrize("text", ["O(n^3)", "O(n)", "O(n^20)", "O(n^2 d)", "O(n log n)"])
def test_big_o_keyword_does_not_match_other_complexities(text):
    (result,) = check_key_points(text, [kp(["O(n^2)"])])
    assert result.verdict == "missed"


def test_times_in_a_keyword_is_a_shape_not_a_power():
    # "n×n" in the bank means the n×n matrix; "O(n²)" in an answer does not say that.
    assert check_key_points("复杂度 O(n²)", [kp(["n×n"])])[0].verdict == "missed"
    assert check_key_points("一个 n × n 的矩阵", [kp(["n×n"])])[0].verdict == "covered"
    # ...while "n^2" in the bank accepts "n×n" in an answer.
    assert check_key_points("一个 n × n 的矩阵", [kp(["n^2"])])[0].verdict == "covered"


def test_bare_square_keyword_matches_inside_a_longer_complexity():
    text = "时间复杂度 O(n²·d)，显存 O(n^2)"
    (result,) = check_key_points(text, [kp(["n^2"])])
    assert pieces(text, result) == ["n²", "n^2"]


def test_square_base_is_a_whole_token():
    text = "shape 512*2, scores 512²"
    (result,) = check_key_points(text, [kp(["512^2"])])
    assert pieces(text, result) == ["512²"]


@pytest.mark.parametrize("text", ["q·k", "q⋅k", "q∙k", "Q · K"])
def test_dot_operator_spellings_are_equal(text):
    (result,) = check_key_points(text, [kp(["q·k"])])
    assert pieces(text, result) == [text]


@pytest.mark.parametrize("text", ["QK^T", "QKᵀ", "QK^{T}", "Q K^T", "q k^⊤"])
def test_transpose_spellings_match(text):
    (result,) = check_key_points(text, [kp(["QK^T"])])
    assert pieces(text, result) == [text]


@pytest.mark.parametrize("text", ["sqrt(x)", "根号", "平方根", "x^0.5", "d^(1/2)", "√", "square root"])
def test_bare_root_keyword_matches_any_root_operator(text):
    (result,) = check_key_points(text, [kp(["根号"])])
    assert result.verdict == "covered"


# ---------------------------------------------------------------- word boundaries


@pytest.mark.parametrize(
    ("keyword", "text", "expected"),
    [
        ("ln", "deep learning", []),
        ("ln", "kiln", []),
        ("ln", "Post-LN 更稳定", ["LN"]),
        ("ln", "用LN归一化", ["LN"]),
        ("kv", "kvetch", []),
        ("kv", "QKV 投影", []),
        ("kv", "缓存KV", ["KV"]),
        ("kv cache", "KV cache", ["KV cache"]),
        ("kv cache", "kv-cache", ["kv-cache"]),
        ("kv cache", "KVcache", ["KVcache"]),
        ("kv cache", "KV_Cache", ["KV_Cache"]),
        ("kv cache", "KV caches", ["KV caches"]),
        ("kv cache", "qkv cache", []),
        ("kvcache", "KV cache", ["KV cache"]),
        ("head", "multi-head attention", ["head"]),
        ("head", "8 heads", ["heads"]),
        ("head", "ahead", []),
        ("head", "header", []),
        ("bias", "biases", ["biases"]),
        ("mask", "masked", ["masked"]),
        ("mask", "unmasked", []),
        ("norm", "normalization", ["normalization"]),
        ("norm", "normal", []),
        ("norm", "L2norm", ["norm"]),
        ("512", "d_model=512", ["512"]),
        ("512", "2512", []),
        ("512", "5120", []),
        ("layernorm", "Layer Norm", ["Layer Norm"]),
        # camelCase humps are word boundaries, as a reader sees them
        ("flash", "FlashAttention", ["Flash"]),
        ("attention", "FlashAttention", ["Attention"]),
        ("flash attention", "FlashAttention-2", ["FlashAttention"]),
        ("norm", "LayerNorm", ["Norm"]),
        ("layernorm", "LayerNorm", ["LayerNorm"]),
        ("ln", "PreLN", ["LN"]),
        ("kv", "KVCache", ["KV"]),
        ("cache", "KVCache", ["Cache"]),
        ("relu", "ReLU", ["ReLU"]),
        ("flash", "flashattention", []),  # no hump, no boundary
        ("多头", "多 头 注意力", ["多 头"]),
    ],
)
def test_word_boundaries(keyword, text, expected):
    (result,) = check_key_points(text, [kp([keyword])])
    assert pieces(text, result) == expected
    assert result.verdict == ("covered" if expected else "missed")


# ---------------------------------------------------------------- groups, spans, merging


def test_overlapping_keywords_in_a_group_give_one_merged_span():
    text = "推理时用 KV cache 缓存历史的 K 和 V。"
    (result,) = check_key_points(text, [kp(["kv cache", "cache", "缓存"])])
    assert result.spans == [span_of(text, "KV cache"), span_of(text, "缓存")]  # "cache" merged into "KV cache"
    assert result.matched_keywords == ["kv cache", "cache", "缓存"]


def test_a_keyword_repeated_across_groups_counts_for_each_group():
    text = "softmax"
    (result,) = check_key_points(text, [kp(["softmax"], ["softmax", "归一化"], ["饱和"])])
    assert (result.verdict, result.groups_matched, result.groups_total) == ("partly", 2, 3)
    assert result.matched_keywords == ["softmax"]


def test_latex_closing_braces_are_included_in_the_span():
    text = "$\\frac{QK^{T}}{\\sqrt{d_{k}}}$"
    results = check_key_points(text, [kp(["QK^T"]), kp(["√d_k"]), kp(["d_k"])])
    assert pieces(text, results[0]) == ["QK^{T}"]
    assert pieces(text, results[1]) == ["\\sqrt{d_{k}}"]
    assert pieces(text, results[2]) == ["d_{k}"]


def test_merge_spans_sorts_joins_and_drops_empty():
    assert merge_spans([(5, 8), (0, 2), (1, 3), (8, 9), (4, 4)]) == [(0, 3), (5, 9)]
    assert merge_spans([[2, 6], [3, 4]]) == [(2, 6)]


def test_unusable_keyword_is_rejected_with_its_name():
    with pytest.raises(ValueError, match=r"keyword '_ -' has nothing to match"):
        compile_keyword("_ -")


# ---------------------------------------------------------------- serialisation


def test_to_dict_is_json_ready_and_round_trips():
    text = "除以 √d_k，softmax 不饱和"
    result = check_key_points(text, SCALING)[1]
    data = result.to_dict()
    assert data == {
        "index": 1,
        "label": "除以 √d_k",
        "weight": 3,
        "verdict": "covered",
        "spans": [[3, 7]],
        "reason": "匹配：√d_k",
        "matched_keywords": ["√d_k"],
        "negated": [],
        "capped_by": [],
        "groups_matched": 1,
        "groups_total": 1,
    }
    assert KeyPointResult.from_dict(json.loads(json.dumps(data))) == result


def test_from_dict_rejects_an_unknown_verdict():
    data = check_key_points("x", SCALING)[0].to_dict() | {"verdict": "perfect"}
    with pytest.raises(ValueError, match="unknown verdict 'perfect'"):
        KeyPointResult.from_dict(data)


# ---------------------------------------------------------------- scores and ratings


def test_coverage_score_is_weighted():
    assert coverage_score(["covered", "partly", "missed"], [1, 1, 1]) == 50.0
    assert coverage_score(["covered", "missed"], [3, 1]) == 75.0
    assert coverage_score(["partly", "covered", "missed", "missed"], [2, 3, 1, 1]) == pytest.approx(57.14)
    assert coverage_score(["covered"] * 4, [1, 2, 3, 1]) == 100.0
    assert coverage_score([], []) == 0.0


def test_coverage_score_rejects_bad_input():
    with pytest.raises(ValueError, match="got 2 verdicts but 1 weights"):
        coverage_score(["covered", "missed"], [1])
    with pytest.raises(ValueError, match="unknown verdict 'half'"):
        coverage_score(["half"], [1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="weight must be at least 1, got 0"):
        coverage_score(["covered"], [0])


@pytest.mark.parametrize(
    ("verdicts", "weights", "rating"),
    [
        (["covered"] * 5, [1] * 5, 4),  # 100
        (["covered"] * 4 + ["partly"], [1] * 5, 4),  # 90: Easy starts here
        (["covered"] * 3 + ["partly", "partly"], [1] * 5, 3),  # 80
        (["covered", "covered", "covered", "partly", "missed"], [2, 2, 2, 2, 2], 3),  # 70: Good starts here
        (["covered", "covered", "partly", "missed", "missed"], [1] * 5, 2),  # 50
        (["covered", "covered", "missed", "missed", "missed"], [1] * 5, 2),  # 40: Hard starts here
        (["covered", "partly", "missed", "missed", "missed"], [1] * 5, 1),  # 30
        (["missed", "covered"], [3, 1], 1),  # 25: the weighted core point was missed
        (["missed"] * 3, [1, 2, 3], 1),
    ],
)
def test_suggested_rating_thresholds(verdicts, weights, rating):
    assert suggested_rating(verdicts, weights) == rating


# ---------------------------------------------------------------- highlighting


def test_highlight_segments_splits_text_for_templates():
    text = "除以 √d_k，softmax 不饱和"
    results = check_key_points(text, SCALING)
    spans = [span for r in results for span in r.spans]
    segments = highlight_segments(text, spans)
    # "饱和" is negated by "不": it is not highlighted as a hit
    assert segments == [
        ("除以 ", False),
        ("√d_k", True),
        ("，", False),
        ("softmax", True),
        (" 不饱和", False),
    ]
    assert "".join(piece for piece, _ in segments) == text


def test_highlight_segments_merges_overlaps_and_handles_no_spans():
    assert highlight_segments("abcdef", [[1, 3], (2, 4), (4, 5)]) == [("a", False), ("bcde", True), ("f", False)]
    assert highlight_segments("abc", []) == [("abc", False)]
    assert highlight_segments("", []) == []
    assert highlight_segments("<b>", [(0, 3)]) == [("<b>", True)]  # escaping is the template's job


def test_highlight_segments_rejects_spans_outside_the_text():
    with pytest.raises(ValueError, match=r"span \[2, 9\] is outside the text of length 3"):
        highlight_segments("abc", [(2, 9)])


# ---------------------------------------------------------------- claims, not words (formerly known limits)


def test_negated_keyword_no_longer_counts_as_covered():
    text = "其实不需要除以 √d_k，softmax 也不会饱和。"
    results = check_key_points(text, SCALING)
    assert [r.verdict for r in results[1:3]] == ["missed", "partly"]
    assert results[1].spans == [] and "被‘不需要’否定" in results[1].reason
    assert pieces(text, results[2]) == ["softmax"]


def test_wrong_statement_loses_the_negated_half():
    # Wrong: LayerNorm normalises over the feature dimension of each token, not over the batch.
    key_point = kp(["layernorm", "LN", "层归一化"], ["特征维", "feature dimension", "hidden dimension"])
    text = "LayerNorm 是在 batch 维度上做归一化的，不是在特征维上。"
    (result,) = check_key_points(text, [key_point])
    assert result.verdict == "partly"
    assert pieces(text, result) == ["LayerNorm"]
    assert result.negated[0]["words"] == "特征维" and result.negated[0]["by"] == "不是"


def test_english_negation_takes_the_keyword_back():
    text = "The Transformer works fine without any residual connections."
    (result,) = check_key_points(text, [kp(["residual", "残差", "skip connection"])])
    assert result.verdict == "missed"
    assert "‘residual’被‘without’否定" in result.reason
