"""A bare comparative condition ("β 越大，", "the larger β is,", "as T grows,") and the clause after it read as
one claim, for misconceptions and for `scope: clause` key points; anything more than a bare condition does not.
"""

from __future__ import annotations

from functools import cache

import pytest

from app.grading import check_answer, check_key_points
from app.grading.answer import AnswerText
from app.question_bank import BANK_DIR, KeyPoint, Misconception, Question, load_question_file


def claims(text: str) -> list[str]:
    seg = AnswerText(text).segmentation
    return [seg.text[start:end].strip() for start, end in seg.claims]


# ---------------------------------------------------------------- which clauses join


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("β 越大，偏离参考模型越多", ["β 越大,偏离参考模型越多"]),
        ("温度 T 越大，分布越尖锐", ["温度 t 越大,分布越尖锐"]),
        ("batch 越大，吞吐不变", ["batch 越大,吞吐不变"]),
        ("随着温度升高，分布变平", ["随着温度升高,分布变平"]),
        ("当学习率增大时，loss 会震荡", ["当学习率增大时,loss 会震荡"]),
        ("序列长度增长时，KV cache 线性变大", ["序列长度增长时,kv cache 线性变大"]),
        # nouns that hold a character which elsewhere ends a subject (因为/时/随/使/则)
        ("容量因子越大，丢的 token 越少", ["容量因子越大,丢的 token 越少"]),
        ("时间步越多，误差越小", ["时间步越多,误差越小"]),
        ("随机性越大，输出越多样", ["随机性越大,输出越多样"]),
        ("显存使用率越高，吞吐越高", ["显存使用率越高,吞吐越高"]),
        ("正则系数越大，权重越小", ["正则系数越大,权重越小"]),
        ("The larger beta is, the more the policy drifts.", ["the larger beta is, the more the policy drifts."]),
        ("The higher the temperature, the flatter it gets.", ["the higher the temperature, the flatter it gets."]),
        ("As T increases, the distribution flattens.", ["as t increases, the distribution flattens."]),
        ("When the learning rate goes up, training diverges.", ["when the learning rate goes up, training diverges."]),
        # only the next clause: a third clause stays apart
        ("β 越大，越接近参考模型，所以更保守", ["β 越大,越接近参考模型,", "所以更保守"]),
        # two correlatives in one sentence pair up in order
        ("学习率越大，loss 越震荡，batch 越大，吞吐越高", ["学习率越大,loss 越震荡,", "batch 越大,吞吐越高"]),
        ("显存占用增加，batch 越大，吞吐越高", ["显存占用增加,", "batch 越大,吞吐越高"]),
    ],
)
def test_a_bare_comparative_condition_joins_the_next_clause(text: str, expected: list[str]) -> None:
    assert claims(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a clause with its own verb, a report or a hypothetical is no bare condition
        ("有人说 β 越大，偏离越多，这是错的", ["有人说 β 越大,", "偏离越多,", "这是错的"]),
        ("如果 β 越大，偏离越多", ["如果 β 越大,", "偏离越多"]),
        ("β 越大偏离越多，所以要调小", ["β 越大偏离越多,", "所以要调小"]),
        ("我们把 β 调大，策略更保守", ["我们把 β 调大,", "策略更保守"]),
        ("Q 来自 encoder，K 来自 decoder", ["q 来自 encoder,", "k 来自 decoder"]),
        # "grows with d" and a plain change state a claim; 上升/下降/增长 make a condition only with 当/随着/时
        ("点积方差随 d_k 增长，softmax 饱和", ["点积方差随 d_k 增长,", "softmax 饱和"]),
        ("困惑度迅速上升，这就是外推失败", ["困惑度迅速上升,", "这就是外推失败"]),
        ("深层贡献变小，有效深度下降", ["深层贡献变小,", "有效深度下降"]),
        ("d_k 大时点积方差变大，softmax 会饱和", ["d_k 大时点积方差变大,", "softmax 会饱和"]),
        ("the model is larger, it is slower", ["the model is larger,", "it is slower"]),
        # a sentence end is no clause break: the condition does not reach the next sentence
        ("β 越大。偏离越多。", ["β 越大。", "偏离越多。"]),
    ],
)
def test_other_clauses_stand_alone(text: str, expected: list[str]) -> None:
    assert claims(text) == expected


# ---------------------------------------------------------------- misconceptions across the comma

DIRECTION = Misconception(
    label="把 β 的方向说反",
    correction="β 越大越贴近参考模型。",
    key_points=[0],
    max_gap=16,
    patterns=[
        [["β", "beta"], ["越大", "increases"], ["偏离", "drift"], ["越多", "further"]],
        [["the larger"], ["β", "beta"], ["the further"], ["drift"]],
    ],
)
BETA_ROLE = KeyPoint(label="β 控制离参考模型多远", keywords=[["β"], ["偏离"]])


def fired(text: str) -> bool:
    return bool(check_key_points(text, [BETA_ROLE], [DIRECTION]).misconceptions)


@pytest.mark.parametrize(
    "text",
    [
        "β 越大，偏离参考模型越多。",
        "DPO 里 β 越大，偏离越多。",
        "As beta increases, the policy drifts further from the reference.",
        "The larger beta is, the further the policy drifts from the reference.",
    ],
)
def test_the_reversed_claim_across_a_comma_fires(text: str) -> None:
    assert fired(text)


@pytest.mark.parametrize(
    "text",
    [
        "β 越大，并不会偏离越多。",  # negated in the joined clause
        "β 越大，偏离越少。",  # the right direction
        "有人说 β 越大偏离越多，这是错的。",  # refuted
        "有人说 β 越大，偏离越多，这是错的。",
        "很多人误以为 β 越大，偏离越多。",
        "β 越大，越接近参考模型，偏离越多的是 β 小的时候。",  # the words sit in a third clause
        "β 越大。偏离越多的是别的模型。",  # another sentence
        "As beta increases, the policy does not drift further.",
        "It is wrong to say that the larger beta is, the further the policy drifts.",
    ],
)
def test_negated_refuted_or_separate_claims_do_not_fire(text: str) -> None:
    assert not fired(text)


# ---------------------------------------------------------------- scope: clause key points

SHARPER = KeyPoint(label="T 越小越尖锐", keywords=[["t 越小", "smaller t"], ["尖锐", "sharper"]], scope="clause")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("T 越小，分布越尖锐。", "covered"),
        ("T 越小，分布并不会更尖锐。", "partly"),  # the consequence is negated in the joined clause
        ("The smaller T is, the sharper the distribution.", "covered"),
        # both named, but in clauses that are not one claim: the relation is not stated
        ("T 越小，采样越快，温度高时分布更尖锐。", "missed"),
        ("T 越小。分布越尖锐是另一回事。", "missed"),
    ],
)
def test_scope_clause_points_read_the_joined_claim(text: str, expected: str) -> None:
    assert check_key_points(text, [SHARPER]).key_points[0].verdict == expected


# ---------------------------------------------------------------- the bank: q49 (β) and q51 (temperature)


@cache
def question(question_id: str) -> Question:
    return load_question_file(BANK_DIR / f"{question_id}.yaml")


def bank_labels(question_id: str, text: str) -> list[str]:
    return [hit.label for hit in check_answer(text, question(question_id)).misconceptions]


Q49_DIRECTION = "把 β 的方向说反（β 越大越偏离参考模型）"
Q51_DIRECTION = "温度越高越尖锐/越确定，温度越低越随机"


@pytest.mark.parametrize(
    ("question_id", "text", "label"),
    [
        ("q49", "β 越大，偏离参考模型越多。", Q49_DIRECTION),
        ("q49", "KL 系数 β 越大，策略越自由。", Q49_DIRECTION),
        ("q49", "β 越大，约束越弱，模型可以放开学。", Q49_DIRECTION),
        ("q49", "The larger beta is, the further the policy drifts from the reference.", Q49_DIRECTION),
        ("q49", "As beta increases, the policy drifts further from the reference.", Q49_DIRECTION),
        ("q51", "温度 T 越大，分布越尖锐。", Q51_DIRECTION),
        ("q51", "温度越高，输出越确定。", Q51_DIRECTION),
        ("q51", "T 越小，分布越平坦。", Q51_DIRECTION),
        ("q51", "The higher the temperature, the sharper the distribution.", Q51_DIRECTION),
        ("q51", "As T increases, the distribution gets sharper.", Q51_DIRECTION),
    ],
)
def test_bank_reversed_direction_across_a_comma_fires(question_id: str, text: str, label: str) -> None:
    assert label in bank_labels(question_id, text)


@pytest.mark.parametrize(
    ("question_id", "text"),
    [
        ("q49", "β 越大，越接近参考模型；β 越小，偏离越多。"),
        ("q49", "β 越大，对偏离参考模型的惩罚越大，策略越保守。"),
        ("q49", "β 越大，并不会偏离越多，反而更贴近参考模型。"),
        ("q49", "有人说 β 越大偏离越多，这是错的。"),
        ("q49", "As beta increases, the penalty for deviation gets larger."),
        ("q51", "温度越高，分布越平坦；温度越低，分布越尖锐。"),
        ("q51", "温度越大，分布并不会更尖锐，而是更平坦。"),
        ("q51", "有人说温度越高，分布越尖锐，这是错的。"),
        ("q51", "The higher the temperature, the flatter the distribution."),
        ("q51", "As T increases, the distribution gets flatter."),
    ],
)
def test_bank_right_direction_negation_and_refutation_stay_quiet(question_id: str, text: str) -> None:
    assert bank_labels(question_id, text) == []
