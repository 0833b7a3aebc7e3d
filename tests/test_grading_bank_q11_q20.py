"""Keyword audit of q11–q20: the content review's false positives and negatives, issue 10's phrasings, and
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
    misconception_label,
)

QUESTION_IDS = [f"q{n}" for n in range(11, 21)]


# ---------------------------------------------------------------- key points: review probes and paraphrases

KEY_POINTS = [
    # content review §2 items 8–9 / §3: false positives on wrong, vague or unrelated answers
    ("FlashAttention 用分块把注意力复杂度降到了 O(n)", "q11", 6, "missed"),  # the classic myth (no FLOPs group)
    ("自注意力需要二次训练才能用在长文本上", "q11", 0, "missed"),  # 二次 ≠ quadratic
    ("注意力是平方复杂度，长文本很耗显存", "q11", 2, "missed"),  # a bare 显存 says nothing about n×n
    ("ALiBi 是一种改进；训练崩溃时要调学习率", "q12", 5, "partly"),  # 崩 was a keyword
    ("ALiBi 在分数上加线性偏置，体现相对位置", "q12", 2, "partly"),  # 线性 + 相对位置 ≠ PE(pos+k) linear in PE(pos)
    ("点积计算更快，不需要矩阵乘，加法注意力要矩阵运算", "q13", 0, "partly"),  # 快 was a keyword
    ("KV cache 跟层数、头数有关，用 fp16 存", "q14", 3, "partly"),  # no 2× (K and V) or per-token size
    ("Pre-LN 效果更好，因为各层的相对贡献更均衡", "q15", 3, "missed"),  # the opposite claim
    ("Transformer 几乎没有区别，需要大数据", "q17", 4, "partly"),  # bare 几乎没有
    ("cosine 之前也可以先线性衰减", "q18", 2, "missed"),  # 线性 decay is not the linear warm-up
    ("Q 和 K 转置相乘得到注意力分数", "q20", 3, "missed"),  # K^T is not the head transpose
    # content review §2 item 10 / §3: false negatives on correct phrasings
    ("时间复杂度是 O(L²d)，L 是序列长度", "q11", 0, "covered"),
    ("序列长度变为 2 倍，显存变为 4 倍，很快 OOM", "q11", 3, "covered"),
    ("实际外推效果并不理想，ALiBi 论文里超过训练长度困惑度迅速上升", "q12", 5, "covered"),
    ("复杂度上差不多，都是 O(n²d)", "q13", 1, "covered"),
    ("当 d_k 比较大时，不缩放的点积效果不如加法注意力", "q13", 3, "covered"),
    ("Q 只需要当前 token 的，不用存", "q14", 2, "covered"),
    ("query 只在当前步用一次，所以缓存 Q 没意义", "q14", 2, "covered"),
    ("Pre-LN 把 LN 放在子层输入处，Post-LN 放在残差相加之后", "q15", 0, "covered"),
    ("归纳偏置很弱，所以需要更多的训练数据", "q17", 4, "covered"),
    ("先验少，需要海量数据", "q17", 4, "covered"),
    ("BERT 基于 Transformer 的 Encoder，GPT 基于 Decoder，T5 是完整的 Encoder‑Decoder", "q19", 0, "covered"),
    # issue 10: paraphrase, English, formula and code
    ("cost grows with the square of the length: O(n^2 d) for QK^T and AV", "q11", 0, "covered"),
    ("double the sequence and you pay four times the memory, then out-of-memory", "q11", 3, "covered"),
    ("显存方面，那张 L×L 的分数表每个头都得存一份", "q11", 2, "covered"),
    ("FlashAttention is exact and IO-aware; the FLOPs are still quadratic", "q11", 6, "covered"),
    ("每两维按固定频率转，往后挪 k 个位置就是乘一个只跟 k 有关的旋转矩阵", "q12", 2, "covered"),
    ("the dot product of two encodings depends only on the distance p - q", "q12", 3, "covered"),
    ("scores = q @ k.transpose(-2, -1) / d ** 0.5 是一次 matmul，GPU 上很快", "q13", 0, "covered"),
    ("方差随 d_k 增大，softmax 饱和、梯度很小，所以除以 √d", "q13", 4, "covered"),
    ("The decoder emits one token at a time and appends it to the prefix until EOS", "q14", 0, "covered"),
    ("把每层算过的 K、V 存起来，新来的词只算它自己的 q/k/v", "q14", 1, "covered"),
    ("处理 prompt 那一下卡在算力，后面逐个生成卡在显存带宽", "q14", 4, "covered"),
    ("Pre-LN needs a final Layer Normalization before the output head", "q15", 4, "covered"),
    ("Post-LN：x_{l+1}=LN(x_l+F(x_l))；Pre-LN：x_{l+1}=x_l+F(LN(x_l))", "q15", 0, "covered"),
    ("Pre 的主干是一条干净的直通路，梯度各层差不多大，好训", "q15", 2, "covered"),
    ("两个 d×4d 的矩阵就是 8d²，一层里三分之二的参数都在 FFN", "q16", 2, "covered"),
    ("4 倍没有什么理论，拍出来的，调大调小影响都不大", "q16", 4, "covered"),
    ("RNN 默认数据是一个接一个来的，离得近的影响大", "q17", 2, "covered"),
    ("前 4000 步线性上升：lr = d_model**-0.5 * min(step**-0.5, step * 4000**-1.5)", "q18", 2, "covered"),
    ("Adam 头几步只见过几个梯度，等效步长忽大忽小", "q18", 0, "covered"),
    ("只留编码端的是 BERT，只留解码端的是 GPT，两边都留的是 T5", "q19", 0, "covered"),
    ("Q = X W_Q with W_Q of 512 by 512, so Q is (32, 100, 512)", "q20", 2, "covered"),
    ("q.view(32, 100, 8, 64).transpose(1, 2) 得到 (32, 8, 100, 64)", "q20", 3, "covered"),
    # negation: conditionals and contrasts still count, plain negations do not
    ("如果不用 FlashAttention，就要为每个头物化 n×n 矩阵，显存 O(n²)", "q11", 2, "covered"),
    ("空间上其实不需要存 n×n 矩阵", "q11", 2, "missed"),
    ("不缩放的话，d_k 大时点积会不如加法注意力", "q13", 3, "covered"),
    ("不缓存 Q，而是只缓存 K、V，因为过去位置的输出已经算完", "q14", 2, "covered"),
    ("Pre-LN 不是没有缺点，而是有效深度下降，效果可能略差", "q15", 3, "covered"),
    ("Transformer 不是没有偏置，而是偏置很弱，所以需要更多数据", "q17", 4, "covered"),
    ("BERT 不是单向的，而是双向编码，用 MLM 预训练", "q19", 1, "covered"),
]


@pytest.mark.parametrize(("text", "question_id", "index", "expected"), KEY_POINTS)
def test_key_point_verdict(text, question_id, index, expected):
    point = check_answer(text, BANK[question_id]).key_points[index]
    assert point.verdict == expected, f"{question_id} KP{index} {point.label}: {point.reason}"


# ---------------------------------------------------------------- misconceptions

FIRES = [
    ("q11", "降到 O(n)", "FlashAttention 用分块把注意力复杂度降到了 O(n)"),
    ("q11", "降到 O(n)", "FlashAttention reduces the complexity to linear."),
    ("q11", "降到 O(n)", "FlashAttention 让 FLOPs 大幅减少"),
    ("q11", "近似注意力", "FlashAttention 不是精确的，是一种近似"),
    ("q11", "打分的复杂度说反", "线性投影是 O(n²d)，QKᵀ 只有 O(nd²)"),
    ("q11", "线性增长", "长度翻倍，计算量也只是翻倍"),
    ("q11", "线性增长", "Self-attention is linear in sequence length."),
    ("q11", "FFN/参数", "长序列时显存瓶颈在 FFN，而不在注意力矩阵"),
    ("q11", "不需要存", "空间上也不需要存 n×n 矩阵"),
    ("q11", "Linformer 和 Longformer", "Linformer 属于稀疏注意力，用滑动窗口"),
    ("q12", "要学习参数", "正弦位置编码其实需要学习参数"),
    ("q12", "要学习参数", "它的频率是训练出来的"),
    ("q12", "随位置增大", "数值范围随位置线性增大，位置越远信号越强"),
    ("q12", "没有线性关系", "PE(pos+k) 和 PE(pos) 之间并不存在线性关系"),
    ("q12", "区分前后方向", "正弦编码的点积能区分前后方向"),
    ("q12", "不只依赖相对距离", "点积也不只依赖相对距离，还和绝对位置有关"),
    ("q12", "外推很好", "它的外推性非常好，可以直接用到更长的序列"),
    ("q12", "RoPE", "RoPE 其实就是把正弦编码加到输入 embedding 上"),
    ("q13", "不能写成一个矩阵乘", "点积并不能写成一个矩阵乘法，要逐对计算"),
    ("q13", "理论复杂度比加法注意力低", "点积的理论复杂度比加法注意力低一个数量级"),
    ("q13", "直接相加", "加法注意力就是把 q 和 k 直接相加再求和作为分数"),
    ("q13", "更好（或不会更差）", "d_k 大时点积比加法注意力更好"),
    ("q13", "更好（或不会更差）", "Dot product attention is better than additive attention for large d_k."),
    ("q13", "不随 d_k 变化", "点积的方差不随 d_k 变化，所以不需要缩放"),
    ("q13", "溢出", "缩放是为了防止 fp16 溢出"),
    ("q13", "非线性", "点积本身是非线性的，表达力更强"),
    ("q14", "并行一次生成", "推理时 decoder 和训练时一样可以并行一次输出整个序列"),
    ("q14", "第一个位置", "每一步取第一个位置的输出作为下一个词"),
    ("q14", "logits", "KV Cache 缓存的是每一步的输出 logits"),
    ("q14", "logits", "KV Cache 要同时缓存 Q、K、V"),
    ("q14", "序列长度无关", "缓存大小和序列长度无关，是固定的"),
    ("q14", "瓶颈说反", "prefill 阶段是显存带宽受限，decode 阶段是计算受限"),
    ("q14", "GQA", "GQA 是减少 query 头的数量来省缓存"),
    ("q14", "beam search", "beam search 是一种随机采样方法"),
    ("q14", "beam search", "temperature 越高输出越确定"),
    ("q15", "公式说反", "Pre-LN 的公式是 LN(x+F(x))"),
    ("q15", "更稳定", "Post-LN 其实不需要 warm-up，训练更稳定"),
    ("q15", "归到 Pre-LN", "Pre-LN 的问题是初始化时靠近输出层梯度很大"),
    ("q15", "效果更好", "Pre-LN 没有任何缺点"),
    ("q15", "final LayerNorm", "Post-LN 最后需要加一个 final LayerNorm"),
    ("q15", "DeepNorm", "DeepNorm 就是 Pre-LN 加 RMSNorm"),
    ("q15", "Post-Norm（或 BatchNorm）", "GPT-2、LLaMA 都用 Post-LN"),
    ("q16", "不增加容量", "FFN 升维并不是为了增加容量，信息量没有变化"),
    ("q16", "不增加容量", "真正的非线性和表达能力都来自注意力里的 softmax"),
    ("q16", "分工说反", "注意力是逐位置独立处理每个 token"),
    ("q16", "大头", "注意力的参数才是每层的大头"),
    ("q16", "大头", "FFN 参数是 2·d·4d=4d²"),
    ("q16", "不存知识", "FFN 并不存储知识，知识都在 embedding 里"),
    ("q16", "严格推导", "4 倍是按多头数和 d_k 严格推导出来的"),
    ("q16", "SwiGLU", "SwiGLU 也不用改 d_ff，照样用 4 倍就行"),
    ("q16", "MoE", "MoE 就是把多头注意力的每个头换成一个专家"),
    ("q17", "欠拟合", "归纳偏置指的是模型在训练数据上的偏差"),
    ("q17", "对称性说反", "CNN 的偏置是置换等变"),
    ("q17", "全局感受野", "RNN 的偏置是全局感受野"),
    ("q17", "感知顺序", "注意力本身就能感知顺序，所以并不需要位置编码"),
    ("q17", "偏置更强", "Transformer 的归纳偏置其实比 CNN 更强"),
    ("q17", "偏置更强", "Transformer 偏置强，所以数据少的时候更有优势"),
    ("q17", "实验结论说反", "ViT 在 ImageNet-1k 上从头训就能超过 ResNet"),
    ("q17", "Swin", "Swin 的做法是去掉局部窗口，改成全局注意力"),
    ("q18", "估计准确", "Adam 的二阶矩从第一步就估计得很准"),
    ("q18", "先用大学习率", "warm-up 是先用大学习率快速跳出初始区域"),
    ("q18", "先用大学习率", "warm-up 是为了让训练更快收敛，防止过拟合"),
    ("q18", "LN 位置", "Post-LN 和 Pre-LN 对 warm-up 的需求一模一样"),
    ("q18", "LN 位置", "Pre-LN 在初始化时靠近输出层的梯度特别大"),
    ("q18", "调度说错", "前 4000 步指数上升"),
    ("q18", "不再用 warm-up", "现在大模型基本都不用 warm-up 了"),
    ("q19", "结构说反", "BERT 属于 decoder-only"),
    ("q19", "单向", "BERT 其实不是双向的"),
    ("q19", "只是微调", "few-shot 只是微调的另一种叫法"),
    ("q19", "只能做翻译", "T5 只能做翻译"),
    ("q19", "RLHF", "ChatGPT 是在 BERT 上做 RLHF 得到的"),
    ("q19", "才是主流", "现在 encoder-only 才是主流"),
    ("q20", "(32, 100, 64)", "乘完之后 Q 是 (32, 100, 64)"),
    ("q20", "切头后的形状", "切头后变成 (32, 100, 8, 512)"),
    ("q20", "不需要 transpose", "拆头的时候也不需要 transpose，直接 view 就行"),
    ("q20", "(32, 8, 64, 64)", "分数矩阵是 (32, 8, 64, 64)"),
    ("q20", "取平均", "每个头的输出取平均就是最终结果"),
    # phrasings from answers written apart from the calibration set
    ("q12", "要学习参数", "正弦位置编码的好处是可以学习，模型会自动调整频率"),
    ("q12", "随位置增大", "它的值会随着位置越来越大"),
    ("q12", "外推很好", "外推能力非常强，ALiBi 就是证明了这一点"),
    ("q13", "并不比加法快", "加性注意力比点积快，因为加法比乘法便宜"),
    ("q13", "理论复杂度比加法注意力低", "点积注意力的复杂度是 O(n)，加性是 O(n^2)"),
    ("q14", "并行一次生成", "推理时 Transformer 可以一次并行生成整句话"),
    ("q14", "logits", "KV cache 存的是每层的输出隐藏状态"),
    ("q14", "logits", "Q 也要一起缓存"),
    ("q17", "偏置更强", "Transformer 的归纳偏置最强，因为注意力可以关注任何位置"),
    ("q17", "偏置更强", "CNN 没有什么归纳偏置"),
    ("q19", "结构说反", "BERT 是生成模型，GPT 是理解模型"),
    ("q19", "结构说反", "T5 是只有 encoder 的模型"),
    ("q19", "才是主流", "现在主流是 encoder-only，因为双向更强"),
    ("q12", "要学习参数", "Sinusoidal encodings are learned during training."),
    ("q12", "外推很好", "They extrapolate very well in practice."),
    ("q15", "更稳定", "Post-LN is more stable and doesn't need warm-up."),
    ("q17", "对称性说反", "CNNs are permutation equivariant."),
    ("q18", "先用大学习率", "Warm-up starts with a large learning rate and then decreases it."),
    ("q19", "才是主流", "Encoder-only models are the mainstream today."),
]


@pytest.mark.parametrize(("question_id", "fragment", "text"), FIRES)
def test_misconception_fires_on_the_wrong_claim(question_id, fragment, text):
    assert_misconception_fires(question_id, fragment, text)


QUIET = [
    # refuted, contrasted, conditional or simply correct: no misconception
    ("q11", "FlashAttention 并没有把复杂度降到 O(n)，FLOPs 仍是 O(n²d)，只是显存降到 O(n)。"),
    ("q11", "FlashAttention does not reduce FLOPs; it reduces HBM traffic."),
    ("q11", "长度翻倍不是翻倍而是 ×4；BigBird 把复杂度降到 O(n)。"),
    ("q11", "投影是 O(nd²)，QKᵀ 和 AV 是 O(n²d)；n 小于 d 时投影占主导。"),
    ("q12", "正弦编码不需要学习参数；点积不能区分前后方向。"),
    ("q12", "PE(pos+k) 不是 PE(pos) 的非线性函数，而是线性变换。"),
    ("q12", "作者希望它能外推，但实际外推并不好，不是外推很好。"),
    ("q12", "RoPE 不是加到输入上，而是在注意力里旋转 q、k。"),
    ("q13", "不是因为点积复杂度更低——两者理论复杂度相同——而是因为点积能写成一个矩阵乘法。"),
    ("q13", "加法注意力不能写成一个矩阵乘，要为每对算 tanh。"),
    ("q13", "缩放不是为了防溢出，而是防止 softmax 饱和。"),
    ("q14", "推理时 prompt 可以并行处理（prefill），之后 decode 只能一个一个生成；温度越低越接近贪心。"),
    ("q14", "不缓存 Q，也不缓存 logits，只缓存 K、V；缓存随序列长度线性增长。"),
    ("q14", "prefill 是计算受限，decode 不是计算受限而是显存带宽受限。"),
    ("q15", "Post-LN 如果不做 warm-up 很容易发散；Pre-LN 不是没有缺点，效果可能略逊。"),
    ("q15", "Pre-LN 不需要像 Post-LN 那样长的 warm-up，但最后要加 final LayerNorm。"),
    ("q16", "4 倍不是推导出来的，而是经验值；注意力的非线性很弱，FFN 提供非线性。"),
    ("q16", "注意力在 token 之间混合信息，FFN 逐位置独立处理，不在 token 之间交换信息。"),
    ("q17", "Transformer 的偏置比 CNN 弱；小数据上 CNN 更好，数据多了 ViT 才反超。"),
    ("q17", "自注意力本身不能感知顺序，所以需要位置编码；Swin 用局部窗口把偏置加回来。"),
    ("q18", "warm-up 不是为了防过拟合，而是为了早期稳定；不是指数升温，而是线性。"),
    ("q18", "如果不用 warm-up，Post-LN 就容易发散；Pre-LN 可以不用 warm-up。"),
    ("q19", "BERT 不是单向的，GPT 不是 encoder-only；decoder-only 才是主流。"),
    ("q19", "RLHF 不是预训练阶段做的，而是在 SFT 之后用于对齐。"),
    ("q20", "Q 投影后是 (32, 100, 512)，不是 (32, 100, 64)；拆头不能直接 view 成 (32, 8, 100, 64)。"),
    ("q20", "分数是 (32, 8, 100, 100)，不是 64×64；多头输出不是取平均，而是拼接后乘 W^O。"),
    ("q13", "比起加法注意力点积更快，加法要为每一对算 tanh。"),
    ("q14", "为什么 Q 不需要缓存？因为 Q 只在当前步用一次。KV cache 存的是每层历史 token 的 K、V 投影。"),
]


HELD_OUT_STRONG = [
    # correct answers in other words than the bank's, one per question where a gap was found
    (
        "q11",
        "设序列长度为 N、隐藏维度为 d。算 QK^T 需要 N^2·d 次乘法，乘 V 也是 N^2·d，投影是 N·d^2。显存方面朴素实现要保存"
        " N×N 的 attention map。长度翻一倍显存要翻四倍，很快就 OOM。稀疏注意力（局部窗口+全局 token，Longformer）、"
        "低秩近似（Linformer）、FlashAttention——它是精确算法，通过 tiling 减少 HBM 读写，不降低 FLOPs。",
    ),
    (
        "q12",
        "Sinusoidal PE needs no training and works for any position. Every value stays in [-1, 1]. Shifting by k"
        " positions is a rotation of each (sin, cos) pair, so PE(p+k) is a linear map of PE(p) that depends only on k,"
        " and the inner product of two encodings is a function of p - q only. People hoped it would extrapolate because"
        " the same relative structure holds at every position, but Press et al. (ALiBi) measured that perplexity shoots"
        " up past the training length. RoPE and ALiBi work better, and PI, NTK-aware scaling and YaRN extend RoPE.",
    ),
    (
        "q17",
        "Inductive bias means the assumptions a model makes before seeing data, which lets it generalize from a finite"
        " training set. Convolutions assume locality and share the kernel, so they are translation equivariant. RNNs"
        " consume inputs sequentially, building in order and recency. Self-attention has almost no such assumption:"
        " without positional encodings it is permutation equivariant. So Transformers are data hungry: ViT loses to"
        " ResNets when trained only on ImageNet-1k and wins after JFT-300M pre-training; DeiT relies on distillation."
        " Swin reintroduces local windows.",
    ),
]


@pytest.mark.parametrize(("question_id", "text"), HELD_OUT_STRONG)
def test_correct_answers_in_other_words_score_high(question_id, text):
    check = check_answer(text, BANK[question_id])
    assert check.misconceptions == []
    assert check.score >= 90, [(kp.label, kp.verdict, kp.reason) for kp in check.key_points if kp.verdict != "covered"]


@pytest.mark.parametrize(("question_id", "text"), QUIET)
def test_no_misconception_on_correct_or_refuted_claims(question_id, text):
    assert_no_misconception(question_id, text)


# ---------------------------------------------------------------- whole questions


def test_no_keyword_of_q11_to_q20_is_a_bare_broad_word():
    # issue 10's list: single characters are refused by the schema; these words also matched wrong answers
    broad = {"二次", "没有", "几乎没有", "线性", "转置", "拆成", "大头", "2x", "2*", "缩放"}
    for question_id in QUESTION_IDS:
        for index, point in enumerate(BANK[question_id].key_points):
            words = {word.lower() for group in point.keywords for word in group}
            assert not words & broad, (question_id, index, words & broad)
    # "encoder-only / decoder-only" is never a bare model or block name ("encoder-decoder" contains both)
    routes = {word.lower() for group in BANK["q19"].key_points[0].keywords for word in group}
    assert not routes & {"encoder", "decoder", "gpt", "bert", "编码器", "解码器"}


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_question_records_common_misconceptions_with_corrections(question_id):
    assert_records_misconceptions(question_id, at_least=3)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_no_misconception_fires_on_the_reference_or_any_correct_sample(question_id):
    assert_correct_answers_are_quiet(question_id, KNOWN_LIMITS)


# Correct answers the checker under-scores for a documented reason (the score still has a floor):
KNOWN_LIMITS = {
    # "如果不加宽，FFN 参数就远小于 8d²，也不会占到每层约 2/3 的参数": the 如果 is two clauses before the 不会,
    # beyond the negation module's conditional reach (the clause itself and the one before), so 2/3 is negated.
    "4 倍不是推导出来的，而是": 65,
}


def test_calibration_targets_hold_over_q11_to_q20():
    assert_calibration_targets(QUESTION_IDS)


# ---------------------------------------------------------------- checker fix the audit needed


@pytest.mark.parametrize(
    ("question_id", "text"),
    [
        ("q15", "Pre-LN 比 Post-LN 更稳定，不需要 warm-up"),  # Post-LN is compared with, not "more stable"
        ("q15", "Post-LN 比 Pre-LN 效果更好，但更难训"),
        ("q15", "相比 Post-LN 更稳定的是 Pre-LN"),
        ("q18", "Post-LN 比 Pre-LN 更需要 warm-up"),
    ],
)
def test_the_object_of_a_comparison_is_not_the_subject_of_a_misconception(question_id, text):
    assert check_answer(text, BANK[question_id]).misconceptions == []


@pytest.mark.parametrize(
    ("question_id", "fragment", "text"),
    [
        ("q15", "更稳定", "Post-LN 比 Pre-LN 更稳定"),  # the subject of the comparison still states the claim
        ("q15", "更稳定", "比如 Post-LN 更稳定"),  # 比如 is "for example", not a comparison
        ("q18", "LN 位置", "Pre-LN 比 Post-LN 更需要 warm-up"),
    ],
)
def test_the_subject_of_a_comparison_still_states_the_claim(question_id, fragment, text):
    labels = [m.label for m in check_answer(text, BANK[question_id]).misconceptions]
    assert misconception_label(question_id, fragment) in labels
