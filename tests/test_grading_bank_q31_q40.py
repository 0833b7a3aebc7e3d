"""Key points and misconceptions of q31–q40 (modern architecture) held to the gaps a blind held-out set found:
thin statements that must not cover a mechanism point, reworded wrong claims that must fire, and correct
statements (or refutations) that must stay quiet.
"""

from __future__ import annotations

import pytest

from tests.utils.grading_bank import (
    assert_key_point_verdict,
    assert_misconception_matches,
)

# (question, answer text, key point index, expected verdict)
KEY_POINT_CASES = [
    # q31: "先 norm…更稳定" names the placement, not why it helps (identity path, gradient, warm-up).
    ("q31", "先 norm 再进子层，这样训练更稳定。", 2, "partly"),
    ("q31", "Pre-Norm 先对子层输入做归一化，训练更稳定。", 2, "partly"),
    ("q31", "Pre-Norm 把 norm 放在子层前面，残差路径是恒等通路，梯度可以直接传回浅层。", 2, "covered"),
    # q33: the relative-position point still covers the right derivation.
    ("q33", "(R_m q)^T (R_n k) = q^T R_m^T R_n k = q^T R_{n-m} k，只依赖 m-n。", 1, "covered"),
    # q34: NTK-aware needs the direction (a larger base) or its effect, not just "changes the base".
    ("q34", "NTK-aware 改了 RoPE 的 base。", 2, "partly"),
    ("q34", "NTK-aware 把 RoPE 的 base 调大，高频不变。", 2, "covered"),
    ("q34", "位置插值把位置按比例压缩回训练范围，再微调一千步。", 1, "covered"),
    # q35: "效果" alone is not the trade-off.
    ("q35", "它们的效果差不多。", 6, "partly"),
    ("q35", "MQA 质量损失最明显，GQA 是折中；MLA 计算更重、实现复杂。", 6, "covered"),
    # q38: loose synonyms for total vs active parameters; the bias mechanism needs "only for selection".
    ("q38", "每个 token 只激活几个专家，参数多但计算少，但所有专家都要放在显存里。", 1, "covered"),
    ("q38", "激活几个专家，参数多计算少。", 1, "partly"),
    ("q38", "DeepSeek-V3 给每个专家加一个偏置，过载就调小。", 5, "partly"),
    ("q38", "DeepSeek-V3 给每个专家加偏置，只在选 top-k 时用，不进门控权重，过载就减 γ。", 5, "covered"),
]

# (question, answer text, words in the misconception label, fires?)
MISCONCEPTION_CASES = [
    ("q33", "因为 R_m R_n = R_{m+n}，所以内积只依赖 m-n。", "R_m R_n = R_{m+n}", True),
    ("q33", "因为 R_mᵀR_n = R_{m+n}，内积只和 m−n 有关。", "R_m R_n = R_{m+n}", True),
    ("q33", "(R_m q)^T (R_n k) = q^T R_{n-m} k，只依赖 m-n。", "R_m R_n = R_{m+n}", False),
    ("q34", "PI 把位置放大 s 倍，不需要微调。", "位置插值是把位置放大", True),
    ("q34", "位置插值把位置乘以 s，直接就能用。", "位置插值是把位置放大", True),
    ("q34", "PI 把位置除以 s 压缩回训练范围，不微调时效果差，需要约 1000 步微调。", "位置插值是把位置放大", False),
    ("q34", "NTK 把 base 调小。", "调小 base", True),
    ("q34", "NTK-aware 把 RoPE 的 base 调大，高频不变。", "调小 base", False),
    ("q38", "top-k 路由随机分配专家。", "随机分配专家", True),
    ("q38", "路由器按 token 表示给每个专家打分，取得分最高的 k 个。", "随机分配专家", False),
    ("q38", "MoE 只需加载激活参数（如 37B）的显存。", "只按激活参数算", True),
    ("q38", "部署 DeepSeek-V3 只需要放下 37B 激活参数的显存。", "只按激活参数算", True),
    ("q38", "每 token 只需要 37B 激活参数的计算，但显存要按 671B 总参数算。", "只按激活参数算", False),
    ("q39", "双向注意力低秩已被严格证明。", "秩的论证", True),
    ("q39", "双向注意力是低秩的，这已经被严格证明了，所以 decoder-only 更好。", "秩的论证", True),
    ("q39", "有人说双向注意力低秩，但这个说法没有被严格证明，只是假说。", "秩的论证", False),
    ("q39", "MLM 每个位置都是预测目标。", "MLM 每个位置都有预测目标", True),
    ("q39", "因果 LM 每个位置都是预测目标，MLM 只有约 15%。", "MLM 每个位置都有预测目标", False),
]


@pytest.mark.parametrize(("question_id", "text", "index", "expected"), KEY_POINT_CASES)
def test_key_point_verdict(question_id, text, index, expected):
    assert_key_point_verdict(question_id, text, index, expected)


@pytest.mark.parametrize(("question_id", "text", "label_words", "fires"), MISCONCEPTION_CASES)
def test_misconception_fires_only_on_the_wrong_claim(question_id, text, label_words, fires):
    assert_misconception_matches(question_id, text, label_words, fires)
