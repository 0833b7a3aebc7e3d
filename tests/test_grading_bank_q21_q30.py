"""Key points and misconceptions of q21–q30, held to the content review's probes and common phrasings.

Each key-point case is a typed answer, the key point it targets and the verdict a strict interviewer
gives; each misconception case says whether the wrong claim is detected (and never on a correct
phrasing, a conditional, a contrast or a refutation).
"""

from __future__ import annotations

from functools import cache

import pytest

from app.grading import check_answer
from app.grading.keywords import compile_keyword
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
    # q22 — review: "Add & Norm" must not cover "combine the masks"; bare 并行 no longer covers teacher forcing.
    ("q22", "每层都是 Add & Norm，padding 的地方要处理一下。", 2, "missed"),
    ("q22", "decoder 里把 padding mask 和 causal mask 相与。", 2, "covered"),
    ("q22", "decoder self-attn = pad_mask(tgt) & causal_mask", 2, "covered"),
    ("q22", "多头可以并行计算。", 4, "partly"),
    ("q22", "训练的时候目标句错开一个位置整句一起喂进去，一次算完所有位置。", 4, "covered"),
    ("q22", "训练时不让模型看到后面的答案。", 1, "partly"),
    ("q22", "sequence mask 用 torch.tril 生成下三角，位置 i 只能看 j ≤ i。", 1, "covered"),
    ("q22", "padding mask 是针对 key 的，(B,1,1,S) 广播到每个 query。", 0, "covered"),
    ("q22", "掩码就是把不需要的位置遮住。", 0, "missed"),
    ("q22", "交叉注意力看的是编码端的输出，所以带的是源句那边的补齐掩码。", 3, "covered"),
    ("q22", "如果把之前的 K、V 存起来，每次只算新 token，本来就看不到未来，下三角就可以省了。", 5, "covered"),
    ("q22", "at inference with a KV cache the single new query only sees the past", 5, "covered"),
    ("q22", "训练时也不需要因果掩码。推理时也用 KV cache。", 5, "partly"),
    # q23 — review: "True 表示该位置被屏蔽" / "True 的地方会被 mask 掉" / "布尔 mask" were missed.
    ("q23", "布尔 mask 里 True 表示该位置被屏蔽。", 5, "covered"),
    ("q23", "布尔 mask 里 True 的地方会被 mask 掉。", 5, "covered"),
    ("q23", "For a boolean mask, True marks positions that are masked out.", 5, "covered"),
    ("q23", "bool 掩码里 True 不是“可以看”，而是“屏蔽”。", 5, "covered"),
    ("q23", "bool 掩码 True 表示允许关注。", 5, "missed"),
    ("q23", "词向量、位置编码、最后投到词表的那层 Linear 它都不管，得自己在外面包一层。", 2, "covered"),
    ("q23", "It doesn't include embeddings or positional encoding; add an output Linear yourself.", 2, "covered"),
    ("q23", "nn.Transformer 已经内置了词嵌入和正弦位置编码。", 2, "missed"),
    ("q23", "batch_first defaults to False, so inputs are (seq_len, batch, d_model).", 1, "covered"),
    ("q23", "batch_first 默认就是 True，所以输入是 (N, S, E)。", 1, "missed"),
    # q24
    ("q24", "图像、语音这些领域都有用，比如 ViT。", 0, "partly"),
    ("q24", "Transformer 在图像和语音上都很流行。", 0, "missed"),
    ("q24", "ViT 的做法就是把图片切成一块一块的小方格，每块 16×16 像素。", 0, "covered"),
    ("q24", "ViT 不是把像素当 token，而是切成 16×16 的 patch。", 0, "covered"),
    ("q24", "CLIP 把图片和文字各自编码，配对的拉近、不配对的推远。", 3, "covered"),
    ("q24", "CLIP 不能做零样本，它只是一个分类器。", 3, "missed"),
    ("q24", "Whisper 做语音识别。", 5, "partly"),
    ("q24", "语音有 Whisper，生物有 AlphaFold2。", 5, "covered"),
    # q25 — review: "encoder-decoder" must not cover "encoder-only".
    ("q25", "用 Transformer 的 encoder-decoder 结构做分类。", 0, "missed"),
    ("q25", "用 BERT 提取特征，然后分类。", 0, "partly"),
    ("q25", "I would use an encoder-only model like BERT, because it is bidirectional.", 0, "covered"),
    ("q25", "拿一个预训练好的 BERT 这种只有编码端的模型，它是双向的，每个字都能看到前后文。", 0, "covered"),
    ("q25", "拿自己的标注数据把整个模型连同这个头一起再训几轮。", 3, "covered"),
    ("q25", "也可以把所有非 pad 的 token 向量求个平均当句向量。", 4, "covered"),
    ("q25", "或者用 GPT 类模型最后一个 token 的向量接分类头。", 5, "covered"),
    ("q25", "文本分类最好用 GPT。", 5, "partly"),
    # q26 — review: the causal-mask group no longer accepts any "mask".
    ("q26", "用 Transformer 做 seq2seq，输入原文输出译文。", 0, "partly"),
    ("q26", "翻译就是原版 Transformer 最初要干的事，编码端加解码端都要。", 0, "covered"),
    ("q26", "训练时 teacher forcing，padding mask 也要加。", 2, "partly"),
    ("q26", "训练时把正确译文错开一个位置喂给解码端，解码端带未来遮挡。", 2, "covered"),
    ("q26", "decoder 输入左移一位，不需要因果掩码。", 2, "missed"),
    ("q26", "At inference the decoder generates one token at a time autoregressively, with beam search.", 4, "covered"),
    ("q26", "推理时只能一个词一个词往外吐，每步保留几条分数最高的候选。", 4, "covered"),
    # q27 — review: "像 GPT 那样用 encoder-decoder" must not cover decoder-only; bare 缓存 no longer covers KV cache.
    ("q27", "像 GPT 那样用 encoder-decoder 结构。", 0, "missed"),
    ("q27", "用 GPT 一个词一个词往后生成。", 0, "partly"),
    ("q27", "现在基本都是 GPT 那种纯解码端的结构，没有编码端，也就没有交叉注意力。", 0, "covered"),
    ("q27", "每一层的自注意力都带未来遮挡，一个词只能看到它前面的词；训练目标就是猜下一个词。", 1, "covered"),
    ("q27", "多头可以并行计算。", 2, "partly"),
    ("q27", "整段文本一次塞进去，错开一个位置当标签，每个位置同时算 loss。", 2, "covered"),
    ("q27", "浏览器会缓存网页。", 4, "partly"),
    ("q27", "为了不每次从头算，把前面每个词每层的 K 和 V 存起来，新词只算自己那一份。", 4, "covered"),
    ("q27", "top-k 只在前 k 个里采样；top-p 取累计概率达到 p 的最小集合。", 3, "partly"),
    # q28 — review: the "现状" point no longer accepts generic 不如/主流 alone.
    ("q28", "MoE 是现在的主流。", 6, "partly"),
    ("q28", "这个方法不如那个方法。", 6, "missed"),
    ("q28", "说实话现在大模型基本都回到精确注意力了，那些近似方法效果扛不住。", 6, "covered"),
    ("q28", "Linformer 是在特征维 d 上做低秩分解，把 d 降到 k，序列长度不变。", 0, "missed"),
    ("q28", "Linformer 把 K、V 在长度那一维压到固定的 k。", 0, "covered"),
    ("q28", "Reformer 用局部敏感哈希把相似的 query/key 分到同一个桶。", 2, "missed"),
    ("q28", "Longformer 每个词只看附近一个窗口，再挑几个全局词谁都能看。", 2, "covered"),
    ("q28", "Switch Transformer 一个 token 只路由给一个专家。", 3, "covered"),
    # q29 — review: "二次训练…长度" must not cover the quadratic point; 外推 inside 另外推理 is no match.
    ("q29", "二次训练成本高，上下文长度有限。", 0, "missed"),
    ("q29", "Attention cost grows with the square of the length: O(L²d) time.", 0, "covered"),
    ("q29", "每个词都要跟所有词算一遍，长度翻倍算力和显存就翻四倍，这是平方级的。", 0, "covered"),
    ("q29", "计算量太大了，比较耗资源。", 0, "partly"),
    ("q29", "另外推理时要存 KV cache，上下文越长占的显存越多。", 3, "missed"),
    ("q29", "要把之前所有词的 K、V 都存起来，上下文一长这块缓存能比模型本身还大。", 1, "covered"),
    ("q29", "生成只能一个字一个字往外蹦，GPU 大部分时间在等读显存，慢。", 2, "covered"),
    ("q29", "训练时只见过 4k 长度，拿去跑 32k 位置编码就不灵了，得做位置插值。", 3, "covered"),
    ("q29", "它先验少，特别吃数据。", 4, "covered"),
    ("q29", "内部在干什么很难解释，注意力图也不能直接当解释。", 6, "covered"),
    # q30 — review: "没有注意力层" + "KV cache" must not cover KP3; KP4 is direction-bearing.
    ("q30", "Mamba 没有注意力层，推理时也有 KV cache。", 3, "missed"),
    ("q30", "Mamba 推理时不需要 KV cache，每步 O(1) 常数显存。", 3, "covered"),
    ("q30", "At inference Mamba needs constant memory per step and there is no KV cache.", 3, "covered"),
    ("q30", "Mamba 的检索能力比 Transformer 更强，Transformer 的缺点是慢。", 4, "missed"),
    ("q30", "SSM 在复制和关联回忆任务上明显不如 Transformer，因为固定状态是有损的。", 4, "covered"),
    ("q30", "让步长 Δ 和 B、C 都跟着当前输入变，模型自己决定这个词要不要记。", 1, "covered"),
    ("q30", "新状态 = A 乘旧状态 + B 乘当前输入，状态维度固定不随长度变。", 0, "covered"),
    ("q30", "推理的时候它只需要维护一个固定大小的状态。", 0, "partly"),
    ("q30", "现在也有混合架构，比如 Jamba。", 6, "partly"),
    ("q26", "Encoder 编码源句，Decoder 通过 cross attention 看源句然后一个个生成目标词。", 0, "covered"),
    ("q22", "一个遮 padding，一个遮未来。", 0, "partly"),
    ("q23", "bool 类型的 mask 中 True 代表该位置不参与注意力。", 5, "covered"),
    ("q30", "Δ、B、C 是输入的函数，所以能选择性地记忆。", 1, "covered"),
    (
        "q28",
        "In practice approximate attention usually hurts quality, so exact attention with FlashAttention dominates.",
        6,
        "covered",
    ),
]

# (question, answer text, words from the misconception label, whether it fires)
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
    ("q22", "padding mask 屏蔽的是 query 里的 pad。", "屏蔽的是 query", True),
    ("q22", "padding mask 屏蔽的不是 query，而是 key 这一侧的 <pad>。", "屏蔽的是 query", False),
    ("q22", "padding mask 其实只在编码器里需要，解码器和交叉注意力都不需要处理 pad。", "只在编码器", True),
    ("q22", "交叉注意力要用目标序列的因果掩码。", "交叉注意力用目标序列的因果掩码", True),
    (
        "q22",
        "交叉注意力用的不是目标序列的因果掩码，而是源序列的 padding mask。",
        "交叉注意力用目标序列的因果掩码",
        False,
    ),
    ("q22", "sequence mask 用 torch.triu 构造，保留上三角。", "方向反了", True),
    ("q22", "让每个位置只能看到它后面的词。", "方向反了", True),
    ("q22", "用 torch.triu(ones, diagonal=1) 得到要屏蔽的上三角，每个位置不能看到后面的词。", "方向反了", False),
    ("q22", "编码器自注意力也要加因果掩码。", "编码器自注意力也要加因果掩码", True),
    ("q22", "编码器不需要因果掩码，只要 padding mask。", "编码器自注意力也要加因果掩码", False),
    ("q22", "训练时也不需要因果掩码，teacher forcing 已经保证了模型看不到未来。", "训练时不需要因果掩码", True),
    ("q22", "训练时虽然标签右移了，但如果不加因果掩码仍然会偷看未来。", "训练时不需要因果掩码", False),
    ("q22", "训练时是逐词生成、串行计算的，推理时才整段并行。", "说反了", True),
    ("q22", "训练时不是逐词串行，而是整段并行；推理时逐词生成。", "说反了", False),
    ("q22", "推理时必须每一步都构造完整的 T×T 下三角掩码，即使用了 KV cache 也一样。", "仍要每步构造", True),
    ("q22", "用了 KV cache 以后每步只有一个 query，不再需要 T×T 下三角。", "仍要每步构造", False),
    ("q22", "掩码在 softmax 之后乘上去就可以，把权重置零。", "softmax 之后乘上去", True),
    ("q23", "nn.Transformer 已经内置了词嵌入和正弦位置编码，直接把 token id 传进去就可以。", "内置了词嵌入", True),
    ("q23", "nn.Transformer 不包含 embedding，也没有内置位置编码。", "内置了词嵌入", False),
    ("q23", "batch_first 默认就是 True。", "batch_first 默认是 True", True),
    ("q23", "batch_first 默认不是 True 而是 False。", "batch_first 默认是 True", False),
    ("q23", "bool 掩码 True 表示允许关注，和 SDPA 一样。", "True 表示允许关注", True),
    ("q23", "F.scaled_dot_product_attention 的 bool attn_mask 里 True 表示允许参与。", "True 表示允许关注", False),
    ("q23", "也不用自己传因果掩码，decoder 会自动加上。", "自动加因果掩码", True),
    ("q23", "nn.Transformer 不会自动加因果掩码，要自己传 tgt_mask。", "自动加因果掩码", False),
    ("q23", "padding 掩码要传给 tgt_mask，因果掩码传给 src_key_padding_mask。", "掩码参数用反", True),
    ("q23", "因果掩码传给 tgt_mask，padding 掩码传给 tgt_key_padding_mask。", "掩码参数用反", False),
    ("q23", "generate_square_subsequent_mask 生成的是下三角为 -inf、上三角为 0 的矩阵。", "方向说反", True),
    ("q23", "generate_square_subsequent_mask 生成上三角为 -inf、其余为 0 的方阵。", "方向说反", False),
    ("q23", "dim_feedforward 是每个注意力头的维度。", "超参数含义说错", True),
    ("q23", "d_model 必须能被 nhead 整除，每个头的维度是 d_model / nhead。", "超参数含义说错", False),
    ("q23", "norm_first 默认 True，也就是默认 Pre-LN。", "norm_first 默认 True", True),
    ("q23", "norm_first 默认 False 是 Post-LN，设成 True 就是 Pre-LN。", "norm_first 默认 True", False),
    ("q24", "ViT 并不需要切 patch，它直接把每个像素当成一个 token 输入。", "每个像素", True),
    ("q24", "ViT 不是把每个像素当 token，而是切成 patch。", "每个像素", False),
    ("q24", "ViT 把图像切成 16×16 个 patch，每个 patch 是 14×14 像素。", "数量和大小说反", True),
    ("q24", "224×224 的图切成 14×14=196 个 16×16 像素的 patch。", "数量和大小说反", False),
    ("q24", "用最后一个 patch 的输出做分类。", "最后一个 patch", True),
    ("q24", "ViT 的归纳偏置比 CNN 强，所以小数据上表现更好。", "归纳偏置比 CNN 强", True),
    ("q24", "ViT 在小数据上比 CNN 表现更好。", "归纳偏置比 CNN 强", True),
    ("q24", "ViT 归纳偏置比 CNN 弱，小数据上不如 ResNet。", "归纳偏置比 CNN 强", False),
    ("q24", "CLIP 是生成式模型，用图像生成文本描述。", "CLIP 是普通分类器", True),
    ("q24", "CLIP 不是分类器也不是生成模型，而是图文对比学习。", "CLIP 是普通分类器", False),
    ("q24", "DETR 仍然依赖 anchor 和 NMS 后处理。", "DETR 仍依赖", True),
    ("q24", "DETR 直接输出一堆框，不用 NMS。", "DETR 仍依赖", False),
    ("q24", "AlphaFold2 主要是 CNN，没有用到注意力。", "AlphaFold2 主要是 CNN", True),
    ("q25", "文本分类最好用 GPT 这种 decoder-only 模型，因为它是双向的，BERT 是单向的。", "方向说反", True),
    ("q25", "GPT 是单向的，BERT 是双向的。", "方向说反", False),
    ("q25", "BERT 的 [CLS] 放在句子最后面，所以它能汇总全句信息。", "[CLS] 放在句子末尾", True),
    ("q25", "在因果模型里第一个 token 能看到整句话。", "[CLS] 放在句子末尾", True),
    ("q25", "如果用 GPT 类模型，不是取第一个 token，而是取最后一个 token。", "[CLS] 放在句子末尾", False),
    ("q25", "文本分类不需要微调，[CLS] 向量本身就是很好的句向量。", "说不需要微调", True),
    ("q25", "预训练的 [CLS] 本身并不是好的句向量，微调后才变成好的分类特征。", "说不需要微调", False),
    ("q25", "直接对 [CLS] 向量做 MSE 回归到类别编号 0、1、2 就可以。", "MSE 回归类别编号", True),
    ("q25", "把 BERT 参数全部冻结，只训练分类头，效果比全量微调更好。", "比全量微调效果更好", True),
    ("q25", "冻结 BERT 只训分类头也可以，但通常比全量微调差一些。", "比全量微调效果更好", False),
    ("q25", "decoder-only 的大模型不能做分类，因为它是单向的。", "不能做分类", True),
    ("q25", "decoder-only 的大模型也能做分类：取最后一个 token。", "不能做分类", False),
    ("q26", "翻译其实不需要 encoder，只用 decoder 就够了。", "翻译不需要 encoder", True),
    ("q26", "decoder-only 模型不需要交叉注意力。", "翻译不需要 encoder", False),
    ("q26", "交叉注意力里 Q 来自 encoder，K、V 来自 decoder。", "Q/K/V 来源说反", True),
    ("q26", "不是 Q 来自 encoder，而是 Q 来自 decoder、K 和 V 来自 encoder 输出。", "Q/K/V 来源说反", False),
    ("q26", "训练时也不用 teacher forcing，而是让模型用自己上一步的预测作为输入。", "训练不用 teacher forcing", True),
    ("q26", "如果训练时不用 teacher forcing，模型收敛会很慢。", "训练不用 teacher forcing", False),
    ("q26", "label smoothing 也不适合翻译，会降低 BLEU。", "label smoothing 不适合", True),
    ("q26", "label smoothing 让困惑度变差，但 BLEU 更高。", "label smoothing 不适合", False),
    ("q26", "推理时也是整句一次并行生成所有目标词。", "整句并行生成", True),
    ("q26", "翻译里 beam search 并没有用，贪心解码效果一样甚至更好。", "整句并行生成", True),
    ("q26", "推理不是并行的，而是自回归逐词生成，beam search 比贪心好。", "整句并行生成", False),
    ("q26", "源语言和目标语言也不能共享词表。", "不能共享词表", True),
    ("q26", "BLEU 是基于召回率的指标，越低越好。", "BLEU 基于召回率", True),
    ("q26", "BLEU 基于 n-gram 精确率，越高越好。", "BLEU 基于召回率", False),
    ("q27", "像 GPT 那样用 encoder-decoder 结构。", "GPT 是 encoder-decoder", True),
    ("q27", "文本生成一般用 BERT 这种 encoder-only 模型。", "GPT 是 encoder-decoder", True),
    ("q27", "GPT 是 decoder-only，不是 encoder-decoder。", "GPT 是 encoder-decoder", False),
    ("q27", "训练目标是 MLM。", "MLM", True),
    ("q27", "生成也不需要因果掩码，因为 decoder-only 模型本来就看不到未来。", "不需要因果掩码", True),
    ("q27", "文本生成模型训练时也不能并行，必须一个 token 一个 token 地串行训练。", "串行", True),
    ("q27", "训练时虽然推理要逐词生成，但训练不是串行的，而是整段并行。", "串行", False),
    ("q27", "top-k 是按累计概率截断，top-p 是取概率最高的 k 个。", "top-k / top-p 说反", True),
    ("q27", "top-k 只在前 k 个里采样；top-p 取累计概率达到 p 的最小集合。", "top-k / top-p 说反", False),
    ("q27", "beam search 最适合开放式闲聊生成，不会重复。", "top-k / top-p 说反", True),
    ("q27", "beam search 适合翻译，不适合开放式生成，容易重复。", "top-k / top-p 说反", False),
    ("q27", "temperature 越高生成越保守，越低越随机。", "temperature 的方向说反", True),
    ("q27", "temperature（不是越高越保守，而是越低越保守）。", "temperature 的方向说反", False),
    ("q27", "KV cache 缓存的是历史 token 的 Q 和 K，V 每步重新算。", "KV cache 缓存 Q", True),
    ("q27", "KV cache 对速度没有帮助。", "KV cache 缓存 Q", True),
    ("q27", "KV cache 存历史的 K、V（不是 Q），每步只算新 token。", "KV cache 缓存 Q", False),
    ("q28", "Linformer 是在特征维 d 上做低秩分解。", "特征维", True),
    ("q28", "Linformer 不是在特征维降维，而是沿序列维把 K、V 投影到 k。", "特征维", False),
    ("q28", "Performer 这些线性注意力效果已经和标准注意力没有区别。", "近似注意力效果已与标准注意力无异", True),
    ("q28", "现在的大模型基本都用线性注意力。", "近似注意力效果已与标准注意力无异", True),
    ("q28", "近似注意力在大模型上效果不如精确注意力。", "近似注意力效果已与标准注意力无异", False),
    ("q28", "Reformer 用 LSH 对 token id 做哈希，相同的词放一个桶。", "token id", True),
    ("q28", "Longformer 是全局注意力加随机注意力，没有局部窗口。", "Longformer 没有局部窗口", True),
    ("q28", "Switch Transformer 每个 token 要经过所有专家，只是最后加权。", "经过所有专家", True),
    ("q28", "Switch Transformer 用 top-2 路由。", "经过所有专家", True),
    ("q28", "GShard 用 top-2，Switch 简化为 top-1。", "经过所有专家", False),
    ("q28", "Transformer-XL 用的是绝对位置编码。", "绝对位置编码", True),
    ("q28", "FlashAttention 其实不是精确注意力，它是一种近似方法。", "FlashAttention 是近似注意力", True),
    ("q28", "FlashAttention 不是近似，而是精确注意力，计算量仍是 O(n²)。", "FlashAttention 是近似注意力", False),
    ("q28", "GQA 是让多个 K/V 头共享一个 query 头。", "把 GQA 说反", True),
    ("q28", "GQA 是多个 query 头共享一组 K/V。", "把 GQA 说反", False),
    ("q29", "FlashAttention 已经把注意力的计算复杂度降到了线性，所以序列再长也不是瓶颈。", "降到线性", True),
    ("q29", "FlashAttention 没有把计算降到线性，只是把显存降到 O(n)。", "降到线性", False),
    ("q29", "复杂度对 d_model 是平方的、对序列长度是线性的。", "对 d_model 平方", True),
    ("q29", "Mamba 对序列长度是线性的。", "对 d_model 平方", False),
    ("q29", "KV cache 的大小和上下文长度无关，是固定的。", "KV cache 大小与长度无关", True),
    ("q29", "KV cache 随上下文线性增长，不是固定大小。", "KV cache 大小与长度无关", False),
    ("q29", "用 MQA 会让 KV cache 变大。", "MQA/GQA 会让 KV cache 变大", True),
    ("q29", "GQA 让多个 query 头共享 K/V，KV cache 更小。", "MQA/GQA 会让 KV cache 变大", False),
    ("q29", "解码速度也不是问题，因为生成时所有 token 是并行输出的。", "所有 token 并行输出", True),
    ("q29", "虽然训练可以并行，但生成仍是逐 token 串行。", "所有 token 并行输出", False),
    ("q29", "RoPE 可以直接外推到任意长度，不需要插值。", "RoPE 可以直接外推", True),
    ("q29", "训练长度之外位置编码失效（RoPE 直接外推会崩）。", "RoPE 可以直接外推", False),
    ("q29", "Transformer 的归纳偏置太强，所以需要的数据比 CNN 少。", "归纳偏置强", True),
    ("q29", "Transformer 的归纳偏置弱，需要海量数据。", "归纳偏置强", False),
    ("q29", "注意力权重本身就是很好的解释，所以可解释性也不差。", "很好的解释", True),
    ("q29", "可解释性差，注意力权重不等于解释。", "很好的解释", False),
    ("q30", "SSM 的状态大小随序列长度增长。", "状态随序列长度增长", True),
    ("q30", "Transformer 的 KV cache 随长度增长，而 SSM 的状态不随长度增长。", "状态随序列长度增长", False),
    ("q30", "S4 是选择性的，参数随输入变化；Mamba 反而是线性时不变的。", "S4 与 Mamba 说反", True),
    ("q30", "S4 是线性时不变的，可以写成长卷积；Mamba 不是。", "S4 与 Mamba 说反", False),
    ("q30", "它的训练复杂度也不是线性的，仍然是 O(n²)。", "训练复杂度也是 O(n²)", True),
    ("q30", "Mamba 推理时其实也需要 KV cache。", "推理也需要 KV cache", True),
    ("q30", "Mamba 推理时不需要 KV cache。", "推理也需要 KV cache", False),
    ("q30", "Mamba 的检索能力比 Transformer 更强。", "复制/检索比 Transformer 更强", True),
    ("q30", "因为状态可以无损保存全部历史。", "复制/检索比 Transformer 更强", True),
    ("q30", "KV cache 能无损保存全部历史，Mamba 的状态是有损的。", "复制/检索比 Transformer 更强", False),
    ("q30", "Mamba-2 证明了 SSM 等价于标准 softmax 注意力。", "等价于标准 softmax 注意力", True),
    ("q30", "Mamba-2 证明选择性 SSM 等价于带衰减掩码的线性注意力。", "等价于标准 softmax 注意力", False),
    ("q30", "所以完全不需要混合注意力层。", "不需要混合注意力层", True),
    ("q30", "Jamba 里全部是注意力层。", "不需要混合注意力层", True),
    ("q30", "Jamba 大部分是 Mamba 层，少量注意力层。", "不需要混合注意力层", False),
    ("q22", "sequence mask 是为了屏蔽 padding，padding mask 是为了不看未来。", "用途说反", True),
    ("q22", "padding mask 屏蔽 pad，sequence mask 挡住未来。", "用途说反", False),
    ("q28", "Reformer 用的是滑动窗口，Longformer 用的是 LSH。", "Reformer 与 Longformer", True),
    ("q28", "Reformer 用 LSH，Longformer 用滑动窗口。", "Reformer 与 Longformer", False),
    ("q29", "注意力的计算量和序列长度是线性关系。", "对序列长度是线性", True),
    ("q29", "Mamba 的计算量和序列长度是线性关系，注意力是平方。", "对序列长度是线性", False),
    ("q30", "Mamba 的状态会随长度变大。", "状态随序列长度增长", True),
    ("q30", "它的状态不会随长度增长。", "状态随序列长度增长", False),
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


@pytest.mark.parametrize(
    ("keyword", "text", "found"),
    [
        ("topp", "top-k 只在前 k 个里采样", False),  # a whole word ending in a double letter is not a stem
        ("topp", "用 topp 采样", True),
        ("padding", "padded positions", True),  # …but an inflected keyword still finds its other forms
        ("embedded", "embedding table", True),
    ],
)
def test_a_keyword_ending_in_a_double_consonant_is_not_cut_to_a_shorter_word(keyword, text, found):
    assert bool(compile_keyword(keyword).search(text.lower())) == found


def test_telling_the_learner_not_to_say_a_claim_refutes_it():
    # The q21 reference answer warns "别说 PyTorch 已经处理了全屏蔽行": a warning, not the claim.
    q = question("q21")
    assert check_answer("别说 PyTorch 已经处理了全屏蔽行，要自己防。", q).misconceptions == []
    assert check_answer("PyTorch 已经处理了全屏蔽行，不用管。", q).misconceptions != []
