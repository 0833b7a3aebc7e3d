"""Negation scope, conditionals, contrasts and clause splitting: what counts as the answer claiming a thing."""

from __future__ import annotations

import pytest

from app.grading import check_key_points
from app.grading.answer import AnswerText
from app.grading.clauses import split_clauses
from app.grading.normalise import normalise
from app.question_bank import KeyPoint


def kp(*groups: list[str], label: str = "kp", scope: str = "answer") -> KeyPoint:
    return KeyPoint(label=label, keywords=[list(g) for g in groups], scope=scope)


def verdict(text: str, *groups: list[str]) -> str:
    return check_key_points(text, [kp(*groups)]).key_points[0].verdict


# ---------------------------------------------------------------- negated claims do not count


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("其实不需要除以根号dk，softmax 也不会饱和", "√d_k"),
        ("其实不需要除以根号dk，softmax 也不会饱和", "饱和"),
        ("所以不需要位置编码", "位置编码"),
        ("Transformer 没有用到残差连接", "残差"),
        ("decoder 无需掩码", "掩码"),
        ("这一步并非必须做缩放", "缩放"),
        ("这里不用 LayerNorm", "layernorm"),
        ("注意力矩阵不是 n×n 的", "n×n"),
        ("模型无法并行", "并行"),
        ("We do not scale the scores.", "scale"),
        ("There is no need for masking here.", "mask"),
        ("Attention never looks at the padding.", "padding"),
        ("It doesn't use positional encoding.", "positional encoding"),
        ("The decoder cannot attend to the encoder.", "encoder"),
        ("Neither scaling nor masking is needed.", "masking"),
        ("缩放是没有必要的", "缩放"),
        ("scaling is unnecessary", "scaling"),
    ],
)
def test_a_negated_keyword_does_not_cover_its_point(text, keyword):
    assert verdict(text, [keyword]) == "missed"


def test_the_reason_names_the_negated_words_and_the_negator():
    (result,) = check_key_points("所以不需要位置编码。", [kp(["位置编码"])]).key_points
    assert result.reason == "‘位置编码’被‘不需要’否定；缺：位置编码"
    assert result.negated == [{"words": "位置编码", "by": "不需要", "span": [5, 9]}]


# ---------------------------------------------------------------- words that only look negative


@pytest.mark.parametrize(
    "text",
    [
        "不同的头关注不同的子空间",
        "不断堆叠的层里有子空间",
        "不仅每个头有自己的子空间",
        "不少头会学到相似的子空间",
        "子空间不可或缺",
        "子空间必不可少",
        "无论多少头，每个头都有子空间",
        "非常小的子空间",
        "未来的 token 各有子空间",
        "not only the subspace but also the heads",
        "no matter how many heads, each has its own subspace",
        "不得不用子空间",
    ],
)
def test_words_containing_a_negator_character_are_not_negations(text):
    assert verdict(text, ["子空间", "subspace"]) == "covered"


# ---------------------------------------------------------------- conditionals and consequences still count


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("如果不缩放，就会让 softmax 饱和", "缩放"),
        ("若不加掩码会泄露未来信息", "掩码"),
        ("不加掩码会泄露", "掩码"),
        ("不缩放的话 softmax 会饱和", "缩放"),
        ("不缩放，softmax 就会饱和", "缩放"),
        ("一旦没有残差，深层就训练不动", "残差"),
        ("without scaling, softmax saturates", "scaling"),
        ("if we don't scale, the softmax saturates", "scale"),
        ("When the scores are not scaled they would explode", "scale"),
        ("Not masking leads to leakage of future tokens", "mask"),
        ("这样模型一开始不会震荡", "震荡"),
        ("RNN 梯度沿时间连乘，不做处理就会消失或爆炸", "消失"),
        ("不加掩码时会看到未来的词", "未来"),
        ("no PE 时 permutation equivariant", "permutation"),
        ("没有它就没法从有限数据泛化", "泛化"),
        ("Without some prior you can not generalize from finite data", "generalize"),
        ("Post-LN has large gradients, so without warm-up it diverges", "diverge"),
    ],
)
def test_conditionals_and_consequences_still_cover_the_point(text, keyword):
    assert verdict(text, [keyword]) == "covered"


# ---------------------------------------------------------------- contrasts end the negation


@pytest.mark.parametrize(
    "text",
    [
        "softmax 不是按列，而是按行做",
        "softmax 不是按列做的，是按行",
        "不是按列但是按行",
        "not by column but by row",
        "not per column, rather per row",
    ],
)
def test_a_contrast_word_ends_the_negation(text):
    (column, row) = check_key_points(text, [kp(["按列", "column", "per column"]), kp(["按行", "row"])]).key_points
    assert column.verdict == "missed"
    assert row.verdict == "covered"


def test_a_negative_polarity_keyword_counts_unless_another_negator_governs_it():
    assert verdict("FlashAttention 不落地 n×n 矩阵", ["不落地", "without materializing"]) == "covered"
    text = "FlashAttention computes it without materializing the matrix"
    assert verdict(text, ["without materializing"]) == "covered"
    assert verdict("FlashAttention 并不是不落地 n×n 矩阵", ["不落地"]) == "missed"


def test_the_key_points_own_negative_keyword_does_not_negate_its_other_groups():
    # "不包含" is the claim of this key point: "不包含 embedding" covers it.
    key_point = kp(["不包含", "不含", "does not include"], ["embedding", "输出层"])
    assert check_key_points("它不包含 embedding 和输出层", [key_point]).key_points[0].verdict == "covered"


def test_a_negator_inside_an_attributive_phrase_stops_at_de():
    # "不缩放的点积" describes the dot product; it does not deny what follows.
    assert verdict("d_k 大时不缩放的点积效果不如加法注意力", ["d_k大"], ["不如"]) == "covered"
    assert verdict("Transformer 不知道词的先后顺序", ["顺序"]) == "covered"


def test_double_negation_counts():
    assert verdict("并不是不需要缩放", ["缩放"]) == "covered"


def test_a_colon_or_a_dash_ends_the_negation():
    assert verdict("为什么是 √d 不是 d：两个独立零均值的向量", ["独立"]) == "covered"
    assert verdict("不是 (32, 100, 64)——W^Q 是 512×512", ["512×512"]) == "covered"


def test_negation_does_not_cross_a_clause_or_a_scope_breaker():
    assert verdict("不需要 RNN，缩放仍然重要", ["缩放"]) == "covered"
    assert verdict("It does not recur and relies on attention only", ["attention"]) == "covered"
    assert verdict("没有循环，所以可以并行", ["并行"]) == "covered"


# ---------------------------------------------------------------- clauses


def clause_texts(text: str) -> list[str]:
    answer = AnswerText(text)
    return [answer.norm[c.start : c.end] for c in answer.segmentation.clauses]


def test_clauses_split_on_punctuation_and_contrast_words_with_offsets():
    assert clause_texts("Q 来自 decoder，K、V 来自 encoder。但是不缩放会饱和") == [
        "q 来自 decoder,",
        "k、v 来自 encoder。",
        "但是不缩放会饱和",
    ]
    norm, _ = normalise("abc, def. gh")
    seg = split_clauses(norm)
    assert [(c.start, c.end, c.sentence) for c in seg.clauses] == [(0, 4, 0), (4, 9, 0), (9, 12, 1)]


def test_commas_inside_brackets_and_between_symbols_do_not_split():
    assert clause_texts("Attention(Q,K,V) = softmax(QK^T)V，K,V come from the encoder") == [
        "attention(q,k,v) = softmax(qk^t)v,",
        "k,v come from the encoder",
    ]
    assert clause_texts("Q, K, V come from x, and the output is y") == ["q, k, v come from x,", " and the output is y"]


def test_thereby_and_also_are_not_contrasts():
    assert clause_texts("不缩放从而导致饱和而且很慢") == ["不缩放从而导致饱和而且很慢"]
    assert clause_texts("按行而不是按列") == ["按行", "而不是按列"]


def test_an_empty_answer_has_one_empty_clause():
    assert [(c.start, c.end) for c in split_clauses("").clauses] == [(0, 0)]


def test_a_negator_inside_a_closed_bracketed_aside_does_not_reach_past_it():
    # "（按行，不是按列）" denies 按列 only; "再乘 V" after the bracket is still claimed.
    assert verdict("然后 softmax(dim=-1)（按行，不是按列）再乘 V", ["乘v"]) == "covered"
    assert verdict("然后 softmax（不是按列）", ["按列"]) == "missed"
    assert verdict("不用 f(x) 再乘 V", ["乘v"]) == "missed"  # the negator stands before the bracket


def test_what_is_so_inherently_is_not_a_consequence():
    # "softmax 本身就有归一化" says why the candidate skips scaling; it is no "…就会饱和" consequence.
    assert verdict("这里不需要除以根号 d_k，softmax 本身就有归一化", ["√d_k"]) == "missed"
    assert verdict("不除以根号 d_k，softmax 就会饱和", ["√d_k"]) == "covered"


@pytest.mark.parametrize(
    "text",
    [
        "Kaplan et al. 2020 found that loss falls as a power law of model size.",
        "Some models, e.g. LLaMA, use RoPE on q and k.",
        "GQA vs. MQA: GQA keeps more heads.",
    ],
)
def test_a_latin_abbreviation_does_not_end_the_sentence(text):
    segmentation = split_clauses(normalise(text)[0])
    assert {clause.sentence for clause in segmentation.clauses} == {0}
    two = split_clauses(normalise(text + " Next, a second sentence.")[0])
    assert {clause.sentence for clause in two.clauses} == {0, 1}


# ---------------------------------------------------------------- "X 与 Y 无关": the relatum Y is denied


@pytest.mark.parametrize(
    ("text", "denied", "kept"),
    [
        ("激活显存和序列长度无关", "序列长度", "激活显存"),
        ("激活显存和序列长度没关系，只看 batch", "序列长度", "激活显存"),
        ("LN 与 batch 无关", "batch", "LN"),
        ("LayerNorm 跟 batch size 没有关系", "batch size", "LayerNorm"),
        ("注意力分数与序列长度不相关", "序列长度", "注意力分数"),
        ("激活显存和序列长度的大小无关", "序列长度", "激活显存"),
        ("Activation memory is independent of sequence length", "sequence length", "activation memory"),
        ("The score is unrelated to the sequence length", "sequence length", "score"),
    ],
)
def test_unrelated_denies_the_relatum_not_the_subject(text, denied, kept):
    assert verdict(text, [denied]) == "missed"
    assert verdict(text, [kept]) == "covered"


def test_unrelated_denies_every_relatum_of_a_list():
    text = "LN 与 batch size 和序列长度都无关"
    assert verdict(text, ["batch size"]) == "missed"
    assert verdict(text, ["序列长度"]) == "missed"


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("激活显存并不是和序列长度无关", "序列长度"),  # the relation is itself denied
        ("激活显存和序列长度并非无关", "序列长度"),
        ("padding 放在左边还是右边没关系", "padding"),  # 没关系 = "it is fine": no relatum
        ("激活显存和序列长度有关，和模型结构无关", "序列长度"),  # another clause
        ("点积只与 p-q 有关，与绝对位置无关", "p-q"),
        ("Attention connects any two tokens directly, regardless of distance", "directly"),
        ("LayerNorm works the same regardless of batch size", "batch size"),  # like 不管/无论: no denial
    ],
)
def test_a_keyword_outside_the_denied_relation_still_counts(text, keyword):
    assert verdict(text, [keyword]) == "covered"


def test_a_relation_denial_states_a_negative_or_any_polarity_point():
    # q08: "LN 与 batch 无关" is a correct claim for the point "LN 不依赖 batch 统计量".
    any_point = KeyPoint(label="不依赖 batch", keywords=[["LN"], ["batch"]], polarity={1: "any"})
    negative_point = KeyPoint(label="不依赖 batch", keywords=[["LN"], ["batch"]], polarity={1: "negative"})
    for point in (any_point, negative_point):
        assert check_key_points("LN 与 batch 无关", [point]).key_points[0].verdict == "covered"
    assert check_key_points("LN 依赖 batch", [negative_point]).key_points[0].verdict == "partly"
    own = KeyPoint(label="不依赖 batch", keywords=[["LN"], ["与batch无关", "不依赖batch"]])
    assert check_key_points("LN 与 batch 无关", [own]).key_points[0].verdict == "covered"


def test_the_reason_names_the_relation_word():
    (result,) = check_key_points("激活显存和序列长度无关。", [kp(["序列长度"])]).key_points
    assert result.reason == "‘序列长度’被‘无关’否定；缺：序列长度"


# ---------------------------------------------------------------- a prohibition is no condition


@pytest.mark.parametrize(
    "text",
    [
        "eos 不应该算进 loss",
        "eos 不应该算进 loss，会让模型过早停止",
        "eos 不该算进 loss 会干扰训练",
        "eos 不应该在训练时算进 loss",
        "eos 不要算进 loss，否则模型学不会别的",
        "The eos token should not be included in the loss, because it would bias the model",
        "The eos token shouldn't be in the loss, otherwise the model will stop early",
        "You mustn't put the eos token in the loss, it would confuse the model",
    ],
)
def test_a_prohibition_keeps_its_denial_whatever_follows(text):
    assert verdict(text, ["算进 loss", "in the loss"]) == "missed"


def test_a_prohibition_inside_a_conditional_is_still_a_condition():
    assert verdict("如果 eos 不应该算进 loss，模型就学不会停", ["算进 loss"]) == "covered"
    assert verdict("不应用掩码会泄露未来信息", ["掩码"]) == "covered"  # 不应用 = "not applying", no prohibition


def test_otherwise_does_not_turn_a_denial_into_a_condition():
    # "否则/otherwise" after a denied keyword says what would happen if it WERE there.
    assert verdict("这个模型没有用 dropout，否则收敛会更慢", ["dropout"]) == "missed"
    # A plain negator followed by a consequence is still a condition ("不加掩码会泄露").
    assert verdict("不加掩码会泄露未来信息", ["掩码"]) == "covered"


# ---------------------------------------------------------------- "little or no": a small amount, not a denial


@pytest.mark.parametrize(
    "text",
    [
        "Pre-LN models need little or no learning-rate warmup",
        "Pre-LN needs little to no warmup",
        "Pre-LN needs less or no warmup",
        "Pre-LN 很少或不需要 warmup",
        "Pre-LN 可以少用甚至不用 warmup",
        "Pre-LN 只需要很少的 warmup",
    ],
)
def test_little_or_no_states_a_small_amount_like_little(text):
    assert verdict(text, ["warmup"]) == "covered"


@pytest.mark.parametrize(
    "text", ["Pre-LN needs no warmup", "Pre-LN 不需要 warmup", "Pre-LN does not need little warmup, it needs none"]
)
def test_a_plain_no_still_denies(text):
    assert verdict(text, ["warmup"]) == "missed"


# ---------------------------------------------------------------- avoid/避免 is not a negator


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("除以 √d_k 可以避免 softmax 饱和", "softmax"),
        ("mask 让位置 t 看不到后面的 token，避免信息泄露", "泄露"),
        ("To avoid recomputing the prefix, cache K and V", "recomputing"),
        ("Residual and skip connections keep the gradient flowing", "gradient"),
    ],
)
def test_avoid_names_the_problem_a_technique_prevents_and_still_counts(text, keyword):
    # Measured: in the calibration answers every 避免/avoid + keyword names the problem the technique
    # prevents (泄露, 下溢, reward hacking, recomputing); a wrong "避免重算" needs a misconception instead.
    assert verdict(text, [keyword]) == "covered"
