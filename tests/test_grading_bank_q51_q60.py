"""Key points and misconceptions of q51–q60 (inference and serving), held to probes written apart from the
calibration set: paraphrases a candidate types, reworded wrong claims, and correct statements that
mention a wrong claim only to refute it (contrast, negation) and must stay quiet.
"""

from __future__ import annotations

import pytest

from tests.utils.grading_bank import (
    assert_key_point_verdict,
    assert_misconception_matches,
    assert_reference_and_calibration_answers_quiet,
    assert_wrong_calibration_answers_caught,
)

QUESTION_IDS = [f"q{n}" for n in range(51, 61)]


# (question, answer text, key point index, expected verdict)
KEY_POINT_CASES = [
    # q51
    ("q51", "top-p 从大到小累加概率，直到总和达到 p，只在这些词里采样，候选数随分布自适应。", 3, "covered"),
    # The mechanism without the point of it (the set adapts to the distribution) is thin.
    ("q51", "top-p 从大到小累加概率，直到总和达到 p，只在这些词里采样。", 3, "partly"),
    ("q51", "top-p 就是只在概率最高的那部分词里采样。", 3, "partly"),
    ("q51", "temperature divides the logits by T: below 1 is sharper, above 1 flatter.", 1, "covered"),
    ("q51", "调一下 temperature 控制随机性。", 1, "partly"),
    ("q51", "min-p 只保留概率不低于 p_min 乘以最大概率的 token。", 5, "covered"),
    ("q51", "greedy 每步取最大概率的词。", 5, "missed"),
    ("q51", "beam search keeps B hypotheses; for open-ended chat it gets repetitive and bland.", 0, "covered"),
    ("q51", "代码和数学用 greedy 或低温，写故事、聊天用高一点的温度加 top-p。", 6, "covered"),
    # q52
    ("q52", "prefill 把整段 prompt 一次并行算完，是 compute-bound。", 0, "covered"),
    ("q52", "decode 每步只生成一个 token，要把权重读一遍，受限于显存带宽。", 1, "covered"),
    ("q52", "prefill 处理输入，decode 生成输出。", 0, "partly"),
    # The bottleneck names alone, without what makes each phase so (thin): partly.
    ("q52", "prefill 是算力瓶颈，decode 是带宽瓶颈。", 0, "partly"),
    ("q52", "prefill 是算力瓶颈，decode 是带宽瓶颈。", 1, "partly"),
    ("q52", "8B bf16 weights are 16 GB, so a decode step takes at least 16 GB / 3.35 TB/s ≈ 4.8 ms.", 3, "covered"),
    ("q52", "TTFT 主要看 prefill，TPOT 看 decode 每一步。", 4, "covered"),
    ("q52", "推理延迟看 TTFT 和 TPOT 两个指标。", 4, "partly"),
    ("q52", "decode 拼大 batch 时权重只读一次，吞吐几乎线性增长，但每个请求的 KV cache 还得各读各的。", 5, "covered"),
    # q53
    (
        "q53",
        "PagedAttention 把 KV cache 分成固定大小的 block，用 block table 把逻辑块映射到物理块，用到了才分配。",
        1,
        "covered",
    ),
    ("q53", "vLLM 用 PagedAttention 管理显存。", 1, "missed"),
    ("q53", "多个采样共享 prompt 的 block，引用计数，写的时候 copy-on-write。", 3, "covered"),
    ("q53", "SGLang 用 radix tree 存前缀，LRU 淘汰，命中就跳过 prefill。", 4, "covered"),
    ("q53", "前缀必须逐 token 一致才能命中。", 5, "covered"),
    ("q53", "显存不够就抢占，swap 到 CPU 或者 recompute。", 6, "covered"),
    # Names without the mechanism: RadixAttention without a tree/hash/LRU, CoW without shared blocks or refcounts.
    ("q53", "SGLang 用 RadixAttention 复用 KV cache。", 4, "partly"),
    ("q53", "beam search 可以用 copy-on-write 共享。", 3, "partly"),
    # q54
    ("q54", "静态批处理要等整批里最长的请求结束，短的只能空转。", 0, "covered"),
    (
        "q54",
        "after each decoding step finished sequences leave and waiting ones join (iteration-level scheduling).",
        1,
        "covered",
    ),
    ("q54", "continuous batching 就是动态地把请求拼在一起。", 1, "missed"),
    ("q54", "chunked prefill 把长 prompt 切块，按 token 预算和 decode 放进同一个 batch，避免卡顿。", 4, "covered"),
    ("q54", "KV 不够时暂停一些请求，KV 换到 CPU 或者丢掉以后重算。", 5, "covered"),
    # q55
    ("q55", "GPTQ 用 Hessian 逐列量化，并把误差补偿到后面的列。", 2, "covered"),
    ("q55", "GPTQ 是一种量化方法。", 2, "partly"),
    ("q55", "AWQ 根据激活大小找出重要通道，先乘一个缩放因子再量化。", 3, "covered"),
    ("q55", "激活里有离群值，SmoothQuant 把难度迁移到权重上，实现 W8A8。", 4, "covered"),
    ("q55", "KV cache 可以单独量化成 FP8。", 5, "covered"),
    ("q55", "量化以后测一下困惑度。", 6, "partly"),
    # q56
    ("q56", "小的草稿模型先猜几个 token，大模型一次前向并行验证。", 0, "covered"),
    ("q56", "accept each draft token with probability min(1, p(x)/q(x))", 1, "covered"),
    (
        "q56",
        "on rejection sample from the normalized max(0, p - q); the output distribution is identical to the target's.",
        2,
        "covered",
    ),
    ("q56", "batch 很大时目标模型接近 compute-bound，投机解码收益变小。", 4, "covered"),
    ("q56", "Medusa adds extra decoding heads to the target model.", 5, "covered"),
    ("q56", "EAGLE drafts on the target's second-to-top-layer features.", 6, "covered"),
    ("q56", "EAGLE 是一种投机解码方法。", 6, "partly"),
    ("q56", "Medusa 有多个头。", 5, "partly"),
    ("q56", "EAGLE 用特征。", 6, "partly"),
    # q57
    ("q57", "KV cache 每 token 2×层数×KV头数×head_dim×2 字节，随长度线性增长。", 0, "covered"),
    ("q57", "Llama 3.1 8B 每 token 128 KB，128k 就是 16 GB。", 1, "covered"),
    ("q57", "prefill 的注意力计算量随长度平方增长。", 2, "covered"),
    ("q57", "KV cache 不是线性增长的。", 0, "missed"),
    ("q57", "用 GQA 或 MLA 减少 KV。", 4, "covered"),
    ("q57", "each decode step has to read the whole KV cache.", 3, "partly"),
    ("q57", "decode 每一步都要把整份 KV cache 读一遍，上下文越长每个 token 越慢，能并发的请求也少。", 3, "covered"),
    ("q57", "用滑动窗口注意力只看最近的 token。", 5, "covered"),
    ("q57", "用 GQA。", 4, "partly"),
    ("q57", "用滑动窗口。", 5, "partly"),
    # q58
    ("q58", "学生学老师的软标签，温度 T 大于 1 让分布更平，损失乘 T²。", 0, "covered"),
    ("q58", "forward KL is mode-covering: the student has to cover every mode of the teacher.", 1, "covered"),
    ("q58", "reverse KL is mode-seeking and concentrates on the teacher's main mode.", 2, "covered"),
    ("q58", "序列级蒸馏就是让老师生成完整回答，学生在上面做 SFT。", 3, "covered"),
    (
        "q58",
        "on-policy distillation: the student samples its own outputs and the teacher scores every token.",
        4,
        "covered",
    ),
    ("q58", "DeepSeek-R1 用约 80 万条 R1 数据对 Qwen 和 Llama 做 SFT，没有再做 RL。", 5, "covered"),
    # q59
    ("q59", "困惑度只在同一个 tokenizer 下可比。", 0, "covered"),
    ("q59", "pass@k 的无偏估计是 1 − C(n−c,k)/C(n,k)。", 2, "covered"),
    ("q59", "pass@k 用无偏估计。", 2, "partly"),
    ("q59", "LLM 当裁判有位置偏差和长度偏差。", 3, "covered"),
    ("q59", "用 n-gram 重叠和 canary 字符串检测污染。", 4, "covered"),
    ("q59", "用改写过的测试集和训练截止之后的新题。", 5, "covered"),
    # q60
    ("q60", "70B 的 bf16 权重约 141 GB，一张 80G 卡放不下。", 0, "covered"),
    ("q60", "KV cache 每 token 2×80×8×128×2 = 320 KiB，8k 请求 2.5 GiB。", 1, "covered"),
    ("q60", "4 卡 tensor parallel，每层两次 all-reduce，走 NVLink。", 3, "covered"),
    ("q60", "decode 每 token 延迟约等于每卡权重字节除以带宽：35 GB / 3.35 TB/s ≈ 10 ms。", 4, "covered"),
    ("q60", "TTFT ≈ 2·P·n /（卡数 × 峰值 × MFU），2k prompt 约 282 TFLOP。", 5, "covered"),
]
MISCONCEPTION_CASES = [
    ("q51", "top-p=0.9 means we only keep tokens with probability greater than 0.9.", "top-p 是保留概率大于 p", True),
    ("q51", "top-p 不是保留概率大于 p 的词，而是按概率累加到 p 为止。", "top-p 是保留概率大于 p", False),
    ("q51", "温度调高以后输出会更保守更确定。", "温度越高越尖锐", True),
    ("q51", "温度越高分布越平坦，温度越低越尖锐。", "温度越高越尖锐", False),
    ("q51", "Greedy decoding always gives the most probable sequence overall.", "beam search 能找到全局", True),
    (
        "q51",
        "Beam search approximates the most likely sequence but rarely finds the global optimum.",
        "beam search 能找到全局",
        False,
    ),
    (
        "q51",
        "top-k keeps a fixed number of candidates while top-p adapts to the distribution.",
        "top-k 的候选数会随分布自适应",
        False,
    ),
    ("q51", "top-k 的候选数会随分布自适应。", "top-k 的候选数会随分布自适应", True),
    ("q52", "decode 阶段主要瓶颈是算力，prefill 主要卡在显存带宽。", "把两个阶段说反", True),
    ("q52", "decode 不是 compute-bound 而是 memory-bound。", "把两个阶段说反", False),
    ("q52", "用 H100 换 B200 算力翻倍，batch=1 的 decode 速度也会翻倍。", "换算力更强", True),
    ("q52", "decode 的瓶颈在带宽而不在算力，换算力更强的卡帮助有限。", "换算力更强", False),
    ("q52", "The prefill is processed token by token as well.", "prefill 也是逐个词元串行", True),
    ("q52", "prefill 不是逐个 token 算的，是整段并行。", "prefill 也是逐个词元串行", False),
    ("q53", "prefix caching 可以让 decode 阶段每个 token 更快。", "prefix caching 能加速 decode", True),
    ("q53", "prefix caching speeds up prefill and TTFT, not decoding.", "prefix caching 能加速 decode", False),
    ("q53", "PagedAttention reduces the FLOPs of attention by skipping pages.", "近似注意力", True),
    ("q53", "PagedAttention 不是近似注意力，结果和普通注意力完全一样。", "近似注意力", False),
    ("q53", "fork 的时候 copy-on-write 会把整个 KV cache 复制一份。", "copy-on-write 在分叉时复制整条", True),
    (
        "q53",
        "copy-on-write copies only the block being written, not the whole KV cache.",
        "copy-on-write 在分叉时复制整条",
        False,
    ),
    ("q54", "用 continuous batching 也得等这一批全部生成完，新请求才能进来。", "要等整批请求都生成完", True),
    (
        "q54",
        "With continuous batching new requests do not wait for the whole batch to finish.",
        "要等整批请求都生成完",
        False,
    ),
    ("q54", "chunked prefill 降低了 prefill 的 FLOPs。", "chunked prefill 能减少", True),
    ("q54", "chunked prefill 不减少计算量，只是让每一步的耗时更平稳。", "chunked prefill 能减少", False),
    ("q54", "Preempted requests are simply dropped and the user gets an error.", "抢占会直接丢弃请求", True),
    ("q55", "GPTQ 是一种需要微调的量化感知训练方法。", "GPTQ 需要重新训练", True),
    ("q55", "GPTQ 无需重新训练。", "GPTQ 需要重新训练", False),
    ("q55", "AWQ keeps the 1% salient weights in FP16 and quantizes the rest.", "AWQ 把显著权重保留为 FP16", True),
    ("q55", "AWQ avoids mixed precision by scaling salient channels.", "AWQ 把显著权重保留为 FP16", False),
    ("q55", "W4A16 hardly speeds up prefill because compute stays in fp16.", "weight-only INT4", False),
    ("q55", "Weight-only INT4 speeds up prefill just as much as decode.", "weight-only INT4", True),
    ("q55", "只要困惑度没变，就说明量化没有损失。", "困惑度不变就说明量化无损", True),
    ("q55", "权重量化成 INT4 以后，KV cache 也跟着变小了。", "KV cache 也自动变小", True),
    (
        "q56",
        "Speculative decoding trades a bit of quality for speed because the output distribution changes.",
        "投机解码是近似方法",
        True,
    ),
    (
        "q56",
        "Speculative decoding is lossless: it does not change the output distribution.",
        "投机解码是近似方法",
        False,
    ),
    ("q56", "拒绝以后从目标分布里重新采样一个 token 就行。", "拒绝后直接从目标分布", True),
    ("q56", "拒绝后不是直接从 p 采样，而是从 max(0, p-q) 归一化后的分布采样。", "拒绝后直接从目标分布", False),
    ("q56", "接受概率是 min(1, q/p)。", "接受概率写反", True),
    (
        "q56",
        "Medusa, unlike classic speculative decoding, needs no separate draft model.",
        "Medusa 需要一个单独的小草稿模型",
        False,
    ),
    ("q57", "KV cache 的大小和序列长度是平方关系。", "KV cache 随上下文长度平方增长", True),
    (
        "q57",
        "KV cache 不是随长度平方增长，而是线性增长；平方增长的是 prefill 的注意力计算。",
        "KV cache 随上下文长度平方增长",
        False,
    ),
    ("q57", "FlashAttention reduces attention complexity to O(n).", "FlashAttention 把注意力计算量降到线性", True),
    (
        "q57",
        "FlashAttention reduces memory to O(n) but compute stays O(n^2).",
        "FlashAttention 把注意力计算量降到线性",
        False,
    ),
    ("q57", "decode 每个 token 的开销跟上下文多长没有关系。", "decode 每个词元的成本与上下文长度无关", True),
    (
        "q57",
        "context parallelism splits the work across GPUs but the total FLOPs stay the same.",
        "context parallel",
        False,
    ),
    ("q58", "forward KL is mode-seeking, reverse KL is mean-seeking.", "把前向 KL 和反向 KL 的性质说反", True),
    ("q58", "Forward KL is mode-covering while reverse KL is mode-seeking.", "把前向 KL 和反向 KL 的性质说反", False),
    ("q58", "蒸馏时温度要设成小于 1 让分布更尖锐。", "温度越高软标签越尖锐", True),
    ("q58", "DeepSeek-R1 的小模型是对齐 R1 的 logits 训练出来的。", "DeepSeek-R1 蒸馏模型是用 R1 的 logits", True),
    (
        "q58",
        "R1 distillation used SFT only, not logits, and no RL afterwards.",
        "DeepSeek-R1 蒸馏模型是用 R1 的 logits",
        False,
    ),
    (
        "q58",
        "on-policy distillation means training the student on data generated by the teacher.",
        "on-policy 蒸馏就是在老师生成的数据上训练",
        True,
    ),
    ("q59", "困惑度低的模型下游任务一定更强。", "困惑度越低下游能力一定越强", True),
    (
        "q59",
        "Lower perplexity does not necessarily mean better downstream performance.",
        "困惑度越低下游能力一定越强",
        False,
    ),
    ("q59", "LLM-as-judge is objective and unbiased.", "LLM 评审是客观的", True),
    ("q59", "做一遍 13-gram 去重就足以排除污染了。", "只要做 n-gram 去重就能排除污染", True),
    ("q59", "n-gram overlap alone cannot rule out contamination.", "只要做 n-gram 去重就能排除污染", False),
    (
        "q59",
        "a canary string does not prevent training; it only lets you filter or detect.",
        "canary 字符串能自动阻止",
        False,
    ),
    ("q60", "70B 模型 fp16 单张 H100 80G 就能放下。", "70B 模型 bf16 一张 80 GB 卡就能放下", True),
    (
        "q60",
        "A 70B model in bf16 needs two 80 GB GPUs just for weights, so one GPU is not enough.",
        "70B 模型 bf16 一张 80 GB 卡就能放下",
        False,
    ),
    ("q60", "每 token 延迟就是 FLOPs 除以 GPU 峰值算力。", "用 FLOPs / 峰值算力估算", True),
    (
        "q60",
        "Decode latency should be estimated from bytes over bandwidth, not FLOPs over peak.",
        "用 FLOPs / 峰值算力估算",
        False,
    ),
    ("q60", "KV cache 每个 token 是 2×80×64×128×2 字节，约 2.5 MB。", "KV cache 按 64 个头", True),
    (
        "q60",
        "INT4 weight-only quantization fits a 70B model on a single 80 GB GPU but does not speed up prefill.",
        "INT4 weight-only 量化让 TTFT",
        False,
    ),
    # Reworded wrong claims found in a second probe round.
    ("q51", "温度设为 2 会让模型更确定。", "温度越高越尖锐", True),
    ("q51", "beam search 在聊天里效果最好，不会重复。", "beam search 最适合开放式对话", True),
    ("q51", "beam search 适合翻译，不适合开放式对话，容易重复。", "beam search 最适合开放式对话", False),
    ("q52", "TTFT 取决于生成了多少个 token。", "TTFT 主要由输出长度", True),
    ("q52", "TTFT 取决于 prompt 长度和排队时间。", "TTFT 主要由输出长度", False),
    ("q53", "PagedAttention 把 attention 矩阵分页存储，从而把注意力复杂度降到线性。", "近似注意力", True),
    ("q53", "copy-on-write 在采样开始前就把 prompt 的 KV 复制 n 份。", "copy-on-write 在分叉时复制整条", True),
    ("q54", "chunked prefill 让 prefill 的总计算量变少，TTFT 大幅下降。", "chunked prefill 能减少", True),
    ("q54", "chunked prefill 不会降低 TTFT，长 prompt 的 TTFT 反而略增。", "chunked prefill 能减少", False),
    ("q55", "GPTQ 需要用量化后的权重重新训练几个 epoch。", "GPTQ 需要重新训练", True),
    ("q56", "投机解码会略微改变输出分布，是近似方法。", "投机解码是近似方法", True),
    ("q56", "加速比等于草稿长度 γ。", "加速比就是 γ 倍", True),
    ("q57", "FlashAttention 把计算降到线性。", "FlashAttention 把注意力计算量降到线性", True),
    ("q60", "KV cache 可以忽略。", "显存只需要算权重", True),
    ("q60", "KV cache 不能忽略，8k 请求每个 2.5 GiB。", "显存只需要算权重", False),
    # Reworded wrong claims from a blind held-out set, and their correct counterparts.
    ("q51", "温度 T 越大分布越尖锐，T 越小越平坦。", "温度越高越尖锐", True),
    ("q51", "T 越大分布越平坦，T 越小越尖锐。", "温度越高越尖锐", False),
    ("q53", "PagedAttention 只算部分 token 的注意力，所以更快。", "近似注意力", True),
    ("q53", "PagedAttention 会损失一点精度。", "近似注意力", True),
    ("q53", "PagedAttention 是精确注意力，不会损失精度，只改变 KV 的存储布局。", "近似注意力", False),
    ("q54", "continuous batching 就是把多个请求拼成一条长序列一起算。", "拼接成一条长序列", True),
    (
        "q54",
        "continuous batching 每步结束后完成的请求离开、新请求加入，attention 按请求分开算。",
        "拼接成一条长序列",
        False,
    ),
    ("q58", "on-policy 蒸馏是老师自己采样，学生去学这些序列。", "on-policy 蒸馏就是在老师生成", True),
    (
        "q58",
        "on-policy 蒸馏是学生自己采样，老师在这些序列上逐词元打分。",
        "on-policy 蒸馏就是在老师生成的数据上训练",
        False,
    ),
    ("q60", "70B bf16 = 70GB（每参数 1 字节）", "bf16 每个参数 1 字节", True),
    ("q60", "bf16 每个参数 2 字节，70B 约 141 GB；INT8 每参数 1 字节，约 70 GB。", "bf16 每个参数 1 字节", False),
    ("q60", "70B in bf16 needs 141 GB vs about 70 GB for int8.", "bf16 每个参数 1 字节", False),
    ("q60", "TP 跨机（以太网）没问题，可以 TP=16 跨两台机器。", "TP 跨机", True),
    ("q60", "TP 不要跨机，以太网太慢，跨机用 pipeline parallel。", "TP 跨机", False),
    ("q55", "SmoothQuant 把权重的难度迁移到激活上。", "方向说反", True),
    ("q55", "SmoothQuant 把量化难度从激活迁移到权重上。", "方向说反", False),
    ("q56", "拒绝以后从目标分布 p 里重新采一个。", "拒绝后直接从目标分布 p 重新采样", True),
]


@pytest.mark.parametrize(("question_id", "text", "index", "expected"), KEY_POINT_CASES)
def test_key_point_verdict(question_id, text, index, expected):
    assert_key_point_verdict(question_id, text, index, expected)


@pytest.mark.parametrize(("question_id", "text", "label_words", "fires"), MISCONCEPTION_CASES)
def test_misconception_fires_only_on_the_wrong_claim(question_id, text, label_words, fires):
    assert_misconception_matches(question_id, text, label_words, fires)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_reference_and_correct_calibration_answers_are_quiet_and_score_high(question_id):
    assert_reference_and_calibration_answers_quiet(question_id, exactly=6)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_wrong_calibration_answers_are_caught(question_id):
    assert_wrong_calibration_answers_caught(question_id, count=2, exact=True, fired=3)
