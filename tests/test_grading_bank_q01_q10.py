"""Keyword audit of q01–q10: the content review's false positives and negatives, issue 10's phrasings, and
each question's common misconceptions (fire on the wrong claim, stay quiet on correct and conditional ones)."""

from __future__ import annotations

import pytest

from app.grading import check_answer
from tests.utils.grading_bank import (
    BANK,
    assert_calibration_targets,
    assert_correct_answers_are_quiet,
    assert_misconception_fires,
    assert_no_misconception,
    assert_records_misconceptions,
)

QUESTION_IDS = [f"q{n:02d}" for n in range(1, 11)]


def verdict(text: str, question_id: str, index: int) -> str:
    return check_answer(text, BANK[question_id]).key_points[index].verdict


# ---------------------------------------------------------------- key points: review probes and paraphrases

KEY_POINTS = [
    # content review §2 item 8 / §3: false positives on wrong or unrelated answers
    ("多头注意力可以并行计算多个头", "q01", 2, "partly"),  # 并行 alone no longer means "training is parallel"
    ("RNN 需要二次开发才能用在长文本上", "q02", 3, "missed"),  # 二次 ≠ quadratic
    ("QK^T 再除以 d_k 做缩放", "q03", 1, "missed"),  # wrong factor (and a misconception)
    ("scores = q @ k.T / d_k  # 缩放", "q03", 1, "missed"),
    ("除以 d_k 的平方根来缩放", "q03", 5, "missed"),  # 平方根 is not a quadratic cost
    ("多头的计算量是单头的 8 倍，每个头的结构相同", "q05", 3, "missed"),
    ("每个头用线性投影得到 QKV，最后拼接", "q05", 2, "partly"),  # no W^O: 线性投影 is not the output projection
    ("训练时 batch size 取 64，学习率 1e-4", "q05", 1, "missed"),  # a bare 64 is not d_model/h
    ("把所有结果放进一个集合里交换一下", "q06", 0, "partly"),
    ("Encoder 就是 FFN 的堆叠", "q07", 2, "partly"),  # no self-attention
    ("LLaMA 用的是 RMSNorm", "q08", 4, "partly"),  # names RMSNorm, not what it removes
    ("用因果关系建模", "q09", 1, "missed"),
    ("Decoder 的 mask 是为了把 padding 的部分遮住，避免关注补齐的 token", "q09", 0, "missed"),
    # content review §2 item 10 / §3: false negatives on correct phrasings
    ("除以 √d，让方差回到 1", "q04", 2, "covered"),
    ("原论文 d_k=64，所以除以 8", "q04", 2, "covered"),
    ("Query 由 decoder 的掩码自注意力层提供", "q10", 0, "covered"),
    ("decoder 掩码自注意力的输出作为 Q", "q10", 0, "covered"),
    ("encoder 最后一层的输出作为 K 和 V", "q10", 1, "covered"),
    ("K、V 均来自 encoder 最后一层的输出", "q10", 1, "covered"),
    # issue 10: paraphrase, English, formula and code
    ("同一层没有时间步依赖，训练时整句一起算，一次大矩阵乘就完了", "q01", 2, "covered"),
    ("All tokens attend to each other; training processes the whole sequence simultaneously.", "q01", 2, "covered"),
    ("cost grows with the square of the length, and decoding still emits one token at a time", "q01", 4, "covered"),
    ("每层计算量 O(L²d)，生成时还是一个字一个字地往外吐", "q01", 4, "covered"),
    ("RNN 第 t 步要等前一步算完，Transformer 整句一起算", "q02", 0, "covered"),
    ("scores = torch.einsum('id,jd->ij', q, k) / d ** 0.5", "q03", 1, "covered"),
    ("attn = q @ k.transpose(-2, -1) / math.sqrt(d_k)", "q03", 1, "covered"),
    ("weights = torch.softmax(scores, dim=-1)", "q03", 2, "covered"),
    ("out = weights @ V，每个词拿到 value 的加权和", "q03", 3, "covered"),
    ("每个词自己在自己的 512 维上算均值方差，这就是 Layer Normalization", "q08", 1, "covered"),
    ("LayerNorm 不是在 batch 上统计，所以不依赖 batch 统计量", "q08", 2, "covered"),
    ("现在都把 LN 放在子层前面（Pre），原版放在相加之后（Post），要预热", "q08", 3, "covered"),
    ("编码端整句读一遍，每个词都能看到左右两边，输出带上下文的向量", "q07", 0, "covered"),
    ("先是带未来遮挡的自注意力，再是去看编码端输出的交叉注意力", "q07", 3, "covered"),
    ("BERT 基于 Encoder，GPT 基于 Decoder", "q07", 5, "covered"),
    ("scores.masked_fill(mask, float('-inf')) 之后再 softmax", "q09", 2, "covered"),
    ("目标序列错开一个位置喂进去，一次前向并行算出所有位置", "q09", 3, "covered"),
    ("The causal mask blocks attention to future positions.", "q09", 0, "covered"),
    ("为了不让模型看到后面的词", "q09", 0, "covered"),
    ("So the decoder cannot see future tokens.", "q09", 0, "covered"),
    ("不用 1/d_k 是因为会把分数压得太小，注意力接近均匀", "q04", 4, "partly"),  # μP / QK-norm half missing
    ("交叉注意力的 K、V 算一次存起来，后面每一步直接拿来用", "q10", 3, "covered"),
    ("所有 decoder 层共用这一份 encoder 输出，但投影矩阵各自独立", "q10", 2, "covered"),
    # negation: conditionals and contrasts still count, plain negations do not
    ("如果不缩放，d_k 大时 softmax 就会饱和，梯度接近 0", "q04", 1, "covered"),
    ("softmax 不是按列，而是按行做，每行和为 1", "q03", 2, "covered"),
    ("其实不需要除以根号dk，softmax 也不会饱和", "q04", 1, "partly"),
    ("因为 attention 本身不能区分顺序，所以需要位置编码", "q06", 0, "partly"),
    ("Self-attention has no notion of order: it is permutation equivariant.", "q06", 0, "covered"),
]


@pytest.mark.parametrize(("text", "question_id", "index", "expected"), KEY_POINTS)
def test_key_point_verdict(text, question_id, index, expected):
    point = check_answer(text, BANK[question_id]).key_points[index]
    assert point.verdict == expected, f"{question_id} KP{index} {point.label}: {point.reason}"


# ---------------------------------------------------------------- misconceptions

FIRES = [
    ("q01", "没有取代循环", "Transformer 其实并没有取代循环，只是在 RNN 的每个时间步上额外加了一层注意力"),
    ("q01", "推理/生成时也能整句并行", "它的优势是推理时也能整句并行生成"),
    ("q01", "推理/生成时也能整句并行", "Transformer 训练和推理都可以并行"),
    ("q01", "复杂度是线性", "借助 FlashAttention，注意力的复杂度已经是 O(n) 了"),
    ("q01", "能感知位置", "注意力本身就能感知位置，所以不需要位置编码"),
    ("q02", "路径长度说反", "RNN 的路径长度是 O(1)，Transformer 是 O(n)"),
    ("q02", "不存在梯度消失", "LSTM 已经完全解决了梯度消失"),
    ("q02", "复杂度比 RNN 低", "Transformer 的复杂度也不是 O(n²)，比 RNN 还低"),
    ("q02", "KV cache 是常数大小", "推理时 KV cache 是常数大小，所以长序列上完全优于 RNN"),
    ("q02", "自带顺序归纳偏置", "它自带顺序归纳偏置，不怎么依赖数据量"),
    ("q03", "缩放因子说成 d_k", "打分是 QKᵀ 再除以 d_k（维度本身）"),
    ("q03", "不用投影", "Q、K、V 其实不需要线性投影，直接都用输入 X 本身就行。"),
    ("q03", "输出形状", "输出的形状是 n×n"),
    ("q03", "近似注意力", "FlashAttention 是一种近似注意力"),
    ("q03", "对 Q（或 K）加权", "然后用权重对 Q 加权求和得到输出"),
    ("q04", "防止数值溢出", "缩放是为了防止数值溢出，fp16 下点积太大会变成 inf"),
    ("q04", "1/d_k（除以 d_k）", "缩放因子是 1/d_k"),
    ("q04", "与 d_k 无关", "点积的方差和 d_k 没有关系"),
    ("q04", "与 d_k 无关", "因为点积的方差随 √d_k 增长"),
    ("q04", "梯度爆炸", "不缩放的话会梯度爆炸"),
    ("q05", "增加参数量", "多头注意力的动机是增加参数量，让模型更大更强"),
    ("q05", "完整的 d_model", "每个头都在完整的 d_model=512 维上做注意力"),
    ("q05", "完整的 d_model", "所有头共享同一组 W^Q、W^K、W^V，只是随机初始化不同"),
    ("q05", "取平均", "8 个头的输出取平均后作为结果"),
    ("q05", "取平均", "最后不需要输出投影 W^O，直接把结果拿来用就行。"),
    ("q05", "h 倍", "多头的计算量是单头的 8 倍"),
    ("q05", "头越多越好", "头越多效果越好，每个头都不可或缺"),
    ("q06", "本身能感知顺序", "其实自注意力本身就能感知顺序"),
    ("q06", "本身能感知顺序", "需要位置编码是因为 FFN 会打乱 token 的顺序"),
    ("q06", "BERT 用正弦", "BERT 用的是正弦位置编码"),
    ("q06", "RoPE", "RoPE 是一种可学习的绝对位置向量"),
    ("q06", "ALiBi", "ALiBi 是给每个位置学一个 embedding"),
    ("q07", "因果掩码", "Encoder 也用因果掩码，每个词只能看到前面的词"),
    ("q07", "职责说反", "Encoder 负责生成，Decoder 负责理解输入"),
    ("q07", "三个子层", "Encoder 每层有掩码自注意力、交叉注意力和 FFN 三个子层"),
    ("q07", "BERT/GPT", "BERT 是 decoder-only 模型"),
    ("q07", "配置说错", "原论文 d_model=2048，d_ff=512"),
    ("q08", "残差连接不能缓解", "残差连接的作用是引入非线性"),
    ("q08", "像 BatchNorm", "LayerNorm 和 BatchNorm 一样依赖 batch 统计量"),
    ("q08", "Pre-LN 和 Post-LN 说反", "原论文用的是 Pre-LN：LN(x+F(x))"),
    ("q08", "Pre-LN 和 Post-LN 说反", "Pre-LN 和 Post-LN 没有本质区别"),
    ("q08", "RMSNorm 说错", "RMSNorm 去掉的是方差，只做减均值"),
    ("q09", "不是为了防止看到未来", "Decoder 的掩码其实不是为了防止看到未来"),
    ("q09", "j<i", "掩码是一个下三角矩阵，把 j<i 的过去位置屏蔽掉"),
    ("q09", "softmax 之后", "softmax 之后把未来位置的权重置 0 就可以，效果完全一样"),
    ("q09", "encoder 或交叉注意力", "encoder 和 cross-attention 也都需要这个因果掩码"),
    ("q09", "二选一", "padding mask 和因果掩码是二选一的，不能同时用"),
    ("q10", "来源说反", "Q 来自 encoder 的输出，K、V 来自 decoder 的掩码自注意力"),
    ("q10", "对应层或中间层", "每个 decoder 层对应同层编号的 encoder 层，第 i 层看第 i 层的输出"),
    ("q10", "全部来自 decoder", "Q、K、V 全部来自 decoder 的上一层"),
    ("q10", "每个解码步都要重算", "推理时 cross-attention 的 K、V 每一步都要重新计算"),
    ("q10", "方阵", "注意力矩阵是 n×n 的方阵"),
    # the same claims as English answers write them
    ("q01", "没有取代循环", "The Transformer just adds attention on top of an RNN."),
    ("q01", "能感知位置", "Attention itself already knows the position of each word."),
    ("q02", "不存在梯度消失", "RNNs do not suffer from vanishing gradients since LSTMs completely solve it."),
    ("q03", "对 Q（或 K）加权", "The output is the weighted sum of the queries."),
    ("q04", "防止数值溢出", "We scale to avoid overflow in fp16."),
    ("q04", "与 d_k 无关", "The variance of the dot product does not depend on d_k."),
    ("q05", "取平均", "The head outputs are averaged."),
    ("q06", "本身能感知顺序", "Self-attention is inherently aware of word order."),
    ("q07", "BERT/GPT", "BERT is a decoder-only model."),
    ("q08", "残差连接不能缓解", "Residual connections are used to add nonlinearity."),
    ("q08", "像 BatchNorm", "LayerNorm normalizes across the batch just like BatchNorm."),
    ("q10", "对应层或中间层", "Each decoder layer attends to the corresponding encoder layer."),
]


@pytest.mark.parametrize(("question_id", "fragment", "text"), FIRES)
def test_misconception_fires_on_the_wrong_claim(question_id, fragment, text):
    assert_misconception_fires(question_id, fragment, text)


QUIET = [
    # refuted, contrasted, conditional or simply correct: no misconception
    ("q01", "不是在 RNN 上加注意力，而是完全去掉了循环，只靠自注意力。"),
    ("q01", "推理时不能像训练那样并行，还是要一个 token 一个 token 生成。"),
    ("q01", "FlashAttention 把显存降到 O(n)，但计算复杂度仍是 O(n^2)。"),
    ("q01", "如果不用位置编码，注意力本身就无法区分顺序。"),
    ("q02", "RNN 的路径长度是 O(n)，Transformer 是 O(1)；LSTM 只是缓解梯度消失。"),
    ("q02", "RNN 的状态是常数大小，而 KV cache 随长度线性增长。"),
    ("q03", "如果除以 d_k 而不是 √d_k，分数会被压得太小；输出不是 n×n，而是 n×d_v。"),
    ("q03", "Q、K、V 都是 X 乘不同的 W 得到的，如果没有投影，Q=K=V，打分矩阵就是对称的。"),
    ("q03", "FlashAttention 不是近似，计算复杂度仍是 O(n²)，只是显存降到 O(n)。"),
    ("q04", "缩放不是为了防溢出，而是为了把方差拉回 1。"),
    ("q04", "很多人以为缩放是为了防止溢出，其实 softmax 会先减最大值。"),
    ("q04", "缩放后方差为 1，与维度无关。标准差是 √d_k，所以除以 √d_k。"),
    ("q04", "因子取 1/√d_k 而不是 1/d_k，除以 d_k 会让注意力接近均匀。"),
    ("q05", "多头不是为了增加参数量，不是取平均，而是拼接后乘 W^O。"),
    ("q05", "单头注意力的输出是对 V 的加权平均。"),
    ("q05", "MQA 让所有 query 头共享同一组 K、V 投影，省 KV cache。"),
    ("q06", "自注意力本身不能感知顺序，所以需要位置编码。RoPE 不是加在输入上，而是旋转 q、k。"),
    ("q06", "BERT 用的不是正弦编码，而是可学习的位置嵌入；ALiBi 外推好。"),
    ("q07", "Encoder 不是单向的，而是双向；BERT 和 GPT 分别是 encoder-only 和 decoder-only。"),
    ("q08", "残差不是为了引入非线性，而是给梯度一条恒等通路。"),
    ("q08", "LayerNorm 不是在 batch 上统计，而是每个 token 在 d_model 个特征上归一化。"),
    ("q08", "Post-LN 在深层不加 warm-up 容易发散，Pre-LN 更稳定。"),
    ("q09", "要在 softmax 之前填 −∞，而不是 softmax 之后再置 0。encoder 不需要因果掩码。"),
    ("q09", "因果掩码要和 padding mask 合并使用，前面的位置不屏蔽。"),
    ("q10", "不是 Q 来自 encoder、K/V 来自 decoder，而是反过来。不是第 i 层对第 i 层。"),
    ("q10", "交叉注意力的 K、V 不用每一步重算，算一次缓存即可；矩阵是 m×n。"),
]


@pytest.mark.parametrize(("question_id", "text"), QUIET)
def test_no_misconception_on_correct_or_refuted_claims(question_id, text):
    assert_no_misconception(question_id, text)


# ---------------------------------------------------------------- whole questions


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_question_records_common_misconceptions_with_corrections(question_id):
    assert_records_misconceptions(question_id, at_least=2)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_no_misconception_fires_on_the_reference_or_any_correct_sample(question_id):
    assert_correct_answers_are_quiet(question_id)


def test_calibration_targets_hold_over_q01_to_q10():
    assert_calibration_targets(QUESTION_IDS)


# ---------------------------------------------------------------- negation fixes the audit needed


def test_sufficiency_after_a_negated_keyword_is_not_a_consequence():
    # "…就行" says "that is enough", not what goes wrong without the thing: the negation stands
    check = check_answer("最后不需要输出投影 W^O，直接把结果拿来用就行。", BANK["q05"])
    assert check.key_points[2].verdict == "missed"
    assert any("W^O" in n["words"] for n in check.key_points[2].negated)
    # while a real consequence still keeps the keyword: "不缩放，softmax 就会饱和"
    assert verdict("不缩放，softmax 就会饱和", "q04", 1) == "covered"


def test_a_word_ending_in_cha_does_not_hide_the_negator_after_it():
    # 残差/方差 + 不: only 差不多 is not a negation
    assert verdict("点积的方差不会随维度变大", "q04", 0) == "partly"
    assert verdict("残差和梯度的计算量差不多", "q08", 0) == "covered"
