"""Key points and misconceptions of q21–q30, held to the content review's probes and common phrasings.

Each key-point case is a typed answer, the key point it targets and the verdict a strict interviewer
gives; each misconception case says whether the wrong claim is detected (and never on a correct
phrasing, a conditional, a contrast or a refutation).
"""

from __future__ import annotations

from functools import cache

import pytest

from app.grading import check_answer
from app.question_bank import BANK_DIR, Question, load_question_file


@cache
def question(question_id: str) -> Question:
    # Loaded file by file so these cases depend only on the questions they test.
    return load_question_file(BANK_DIR / f"{question_id}.yaml")


# (question, answer text, key point index, expected verdict)
KEY_POINT_CASES = [
    # q21 — review: "/ d_k # 缩放" (wrong factor) must not cover the √d_k point; einsum implementations count.
    ("q21", "scores = q @ k.transpose(-2, -1) / d_k  # 缩放", 1, "missed"),
    ("q21", "scores = q @ k.transpose(-2, -1)，然后做缩放再 softmax", 1, "missed"),
    ("q21", "用 F.scaled_dot_product_attention 就行", 1, "missed"),
    ("q21", "scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)", 1, "covered"),
    ("q21", "scores = torch.einsum('bhqd,bhkd->bhqk', q, k) / d ** 0.5", 1, "covered"),
    ("q21", "scores = torch.einsum('bhqd,bhkd->bhqk', q, k) * d_k ** -0.5", 0, "covered"),
    ("q21", "attn = scores.softmax(-1); out = torch.einsum('bhqk,bhkd->bhqd', attn, v)", 2, "covered"),
    ("q21", "Q times K transposed, then softmax along the last dim and multiply with V", 2, "covered"),
    ("q21", "然后 softmax(dim=-1)（按行，不是按列）再乘 V", 2, "covered"),
    ("q21", "就是算一下 Q 和 K 的相似度", 0, "partly"),
    ("q21", "masked_fill 成 -inf，这一步一定放在 softmax 前面", 3, "covered"),
    (
        "q21",
        "Return both the output and the attention weights; compare with F.scaled_dot_product_attention",
        5,
        "covered",
    ),
    ("q21", "def sdpa(q, k, v): return torch.matmul(attn, v)", 5, "missed"),
]

# (question, answer text, a words of the misconception label, whether it fires)
MISCONCEPTION_CASES = [
    ("q21", "这里不需要除以根号 d_k，softmax 本身就有归一化，不会饱和。", "不需要除以 √d_k", True),
    ("q21", "dot product of Q and K, no need to scale since softmax normalizes anyway.", "不需要除以 √d_k", True),
    ("q21", "如果不除以 √d_k，softmax 就会饱和，梯度很小。", "不需要除以 √d_k", False),
    ("q21", "scores = q @ k.transpose(-2, -1) / d_k  # 缩放", "缩放因子写成 d_k", True),
    ("q21", "先算 Q^T K，再除以 d_k 防止溢出", "缩放因子写成 d_k", True),
    ("q21", "scores = q @ k.transpose(-2, -1) / d_k ** 0.5", "缩放因子写成 d_k", False),
    ("q21", "scores = Q^T K / sqrt(d_k)", "Qᵀ K", True),
    ("q21", "out = v @ attn", "Qᵀ K", True),
    ("q21", "scores = q @ k.transpose(-2, -1); out = attn @ v", "Qᵀ K", False),
    ("q21", "attn = torch.softmax(scores, dim=0)", "softmax 按列", True),
    ("q21", "softmax 不是按列，而是按行（dim=-1）做的。", "softmax 按列", False),
    ("q21", "mask 放在 softmax 后面也可以", "mask 放在 softmax 之后", True),
    ("q21", "不能在 softmax 之后再把权重置 0，必须在之前填 -inf。", "mask 放在 softmax 之后", False),
    ("q21", "softmax 之后再置 0 会让每行和不为 1。", "mask 放在 softmax 之后", False),
    ("q21", "整行都被 mask 也不会有任何数值问题。", "整行全被屏蔽", True),
    ("q21", "If the whole row is masked there is no problem, PyTorch handles it.", "整行全被屏蔽", True),
    ("q21", "别以为 PyTorch 已经处理了全屏蔽行，MHA 默认仍然是 NaN。", "整行全被屏蔽", False),
    ("q21", "官方的 F.scaled_dot_product_attention 和这个是一样的实现", "同一种实现", True),
    ("q21", "F.scaled_dot_product_attention 的输出和手写版可以用 allclose 验证", "同一种实现", False),
]


@pytest.mark.parametrize(("question_id", "text", "index", "expected"), KEY_POINT_CASES)
def test_key_point_verdict(question_id, text, index, expected):
    result = check_answer(text, question(question_id)).key_points[index]
    assert result.verdict == expected, result.reason


@pytest.mark.parametrize(("question_id", "text", "label_words", "fires"), MISCONCEPTION_CASES)
def test_misconception_fires_only_on_the_wrong_claim(question_id, text, label_words, fires):
    q = question(question_id)
    assert any(label_words in m.label for m in q.misconceptions), f"no misconception labelled {label_words!r}"
    fired = [m.label for m in check_answer(text, q).misconceptions if label_words in m.label]
    assert bool(fired) == fires, check_answer(text, q).misconceptions


def test_telling_the_learner_not_to_say_a_claim_refutes_it():
    # The q21 reference answer warns "别说 PyTorch 已经处理了全屏蔽行": a warning, not the claim.
    q = question("q21")
    assert check_answer("别说 PyTorch 已经处理了全屏蔽行，要自己防。", q).misconceptions == []
    assert check_answer("PyTorch 已经处理了全屏蔽行，不用管。", q).misconceptions != []
