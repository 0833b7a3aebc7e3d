"""Key points and misconceptions of q41–q50 (training), held to probes written apart from the calibration
set: paraphrases and abbreviations a candidate types, reworded wrong claims, topic words that must not pass
for a mechanism, and correct statements that mention a wrong claim only to refute it and must stay quiet.
"""

from __future__ import annotations

import pytest

from tests.utils.grading_bank import (
    assert_key_point_verdict,
    assert_misconception_matches,
    assert_reference_and_calibration_answers_quiet,
    assert_wrong_calibration_answers_caught,
)

QUESTION_IDS = [f"q{n}" for n in range(41, 51)]


# (question, answer text, key point index, expected verdict)
KEY_POINT_CASES = [
    # q42: bit layouts and "bf16 doesn't need loss scaling" as candidates write them
    ("q42", "fp16 是 1+5+10，bf16 是 1+8+7。", 0, "covered"),
    ("q42", "fp16 指数位 5 位，bf16 指数位 8 位。", 0, "covered"),
    ("q42", "fp16 exponent 5 bits, mantissa 10 bits; bf16 exponent 8 bits, mantissa 7 bits.", 0, "covered"),
    ("q42", "fp16 是 5 个 bit 的指数和 10 个 bit 的尾数，bf16 是 8 个 bit 的指数和 7 个 bit 的尾数。", 0, "covered"),
    ("q42", "bf16 一般不用 loss scaling。", 3, "covered"),
    ("q42", "bf16 usually doesn't need it because its exponent matches fp32.", 3, "covered"),
    ("q42", "bf16 一般用不到 loss scaling。", 3, "covered"),
    ("q42", "fp16 需要 loss scaling，bf16 不需要。", 3, "covered"),
    ("q42", "BF16 doesn't need a GradScaler.", 3, "covered"),
    # q44: TP / PP / CP for tensor, pipeline and context parallelism
    ("q44", "TP 把每层的权重矩阵按列和按行切开，每层都要 all-reduce，所以放在节点内用 NVLink。", 4, "covered"),
    (
        "q44",
        "TP splits each weight matrix column-wise then row-wise and all-reduces every layer, so it stays in a node.",
        4,
        "covered",
    ),
    ("q44", "PP 按层切成几个 stage，用 micro-batch 流水，但有气泡 (p-1)/(m+p-1)。", 5, "covered"),
    ("q44", "CP 沿序列维切激活，用 ring attention 传 KV。", 6, "covered"),
    ("q44", "ZeRO 1/2/3 分别切优化器状态、梯度、参数。", 1, "covered"),
    # q45: a factor needs what went wrong with it (a factor alone is partly); the reason is inference cost
    ("q45", "Kaplan 没有按训练长度调整学习率 schedule，还只数了非 embedding 参数。", 3, "covered"),
    ("q45", "Kaplan used a fixed cosine schedule that did not match the training length.", 3, "covered"),
    ("q45", "LLaMA-3 8B 是小模型。", 3, "partly"),
    ("q45", "LLaMA-3 8B 训练 15T token 是为了推理成本低，小模型多喂数据。", 4, "covered"),
    ("q45", "Trained on 15T tokens so it is cheaper at inference.", 4, "covered"),
    ("q45", "LLaMA-3 8B 用 15T token 训练，推理能力很强。", 4, "partly"),
    ("q45", "Chinchilla 重新拟合了 scaling law。", 5, "missed"),
    # q46: the prompt side of the loss mask stated negatively
    ("q46", "只对回答算 loss，不对用户问题算。", 2, "covered"),
    ("q46", "用户问题的 label 设为 -100，只对助手回复计算损失。", 2, "covered"),
    # q48: the KL point needs its mechanism, not its name
    ("q48", "KL 惩罚让策略不要偏离参考模型太远。", 1, "covered"),
    ("q48", "KL 项把策略拉回 SFT 模型附近，因为奖励模型只在那附近可靠。", 1, "covered"),
    ("q48", "The KL penalty keeps the policy close to the frozen SFT reference.", 1, "covered"),
    ("q48", "目标是奖励减去 β 乘以和参考模型的 KL。", 1, "covered"),
    ("q48", "用 KL 惩罚和参考模型。", 1, "partly"),
    ("q48", "There is a KL penalty with the reference model.", 1, "partly"),
    # q49: β's role, not β written in the loss (partly); no online sampling is offline
    ("q49", "β 越大，越不会偏离参考模型。", 3, "covered"),
    ("q49", "Higher beta penalizes deviation from the reference more strongly.", 3, "covered"),
    ("q49", "损失是 −log σ(β log π(y_w)/π_ref(y_w) − β log π(y_l)/π_ref(y_l))。", 3, "partly"),
    ("q49", "DPO 不用在线采样，也不需要奖励模型，只要策略和参考模型。", 4, "covered"),
    ("q49", "DPO 不需要在线采样和奖励模型。", 4, "covered"),
    ("q49", "DPO doesn't need online sampling or a reward model, just the policy and a reference.", 4, "covered"),
    ("q49", "DPO 用现成的偏好数据直接训练，不用单独训练奖励模型。", 4, "covered"),
    ("q49", "DPO 不用在线采样。", 4, "partly"),
    # q50: the critic removed, in the words candidates use
    ("q50", "GRPO 把 critic 拿掉了，不用再训 value model。", 1, "covered"),
    ("q50", "GRPO 不用再训一个价值模型。", 1, "covered"),
    ("q50", "GRPO gets rid of the critic.", 1, "covered"),
    ("q50", "GRPO drops the value model and uses the group mean instead.", 1, "covered"),
    ("q50", "GRPO doesn't need to train a separate value network.", 1, "covered"),
    ("q50", "PPO 需要 critic，GRPO 不需要。", 1, "covered"),
    ("q50", "GRPO 和 PPO 一样需要 critic。", 1, "missed"),
]

# (question, answer text, words of the misconception's label, fires)
MISCONCEPTION_CASES = [
    ("q42", "bf16 需要 loss scaling，fp16 不需要它。", "同样需要 loss scaling", True),
    ("q42", "fp16 需要 loss scaling，bf16 不需要。", "同样需要 loss scaling", False),
    ("q44", "TP 适合跨节点，通信量很小。", "张量并行适合跨节点", True),
    ("q44", "TP 每层都要 all-reduce，不适合跨节点。", "张量并行适合跨节点", False),
    ("q44", "PP 没有气泡。", "流水线并行没有气泡", True),
    ("q45", "Chinchilla 每参数约 2 个 token。", "token/参数比说错", True),
    ("q45", "Chinchilla-optimal training uses about 2 tokens per parameter.", "token/参数比说错", True),
    ("q45", "Chinchilla 认为最优数据量 D = 2N。", "token/参数比说错", True),
    ("q45", "Chinchilla 每参数约 20 个 token，70B 配 1.4T。", "token/参数比说错", False),
    ("q45", "GPT-3 每参数只有约 2 个 token，远低于 Chinchilla 的 20。", "token/参数比说错", False),
    ("q45", "Chinchilla 认为模型每翻 2 倍，数据也要翻 2 倍。", "token/参数比说错", False),
    ("q46", "把回答 mask 掉，只对用户问题算 loss。", "把 loss mask 说反", True),
    ("q46", "The response tokens are masked out and the loss is taken only on the prompt.", "把 loss mask 说反", True),
    ("q46", "loss 只算在 prompt 上。", "把 loss mask 说反", True),
    ("q46", "把 prompt mask 掉，只对回答算 loss。", "把 loss mask 说反", False),
    ("q46", "Only the assistant tokens contribute to the loss; user turns get -100.", "把 loss mask 说反", False),
    ("q46", "不要只对用户问题算 loss，要只算助手回复。", "把 loss mask 说反", False),
    ("q48", "奖励模型用 MSE 回归人类打的分数。", "回归人类打的绝对分数", True),
    ("q48", "The reward model is trained with MSE on human ratings.", "回归人类打的绝对分数", True),
    ("q48", "先让人给回答打分，再用 MSE 回归这个分数。", "回归人类打的绝对分数", True),
    ("q48", "奖励模型不是用 MSE 回归分数，而是用成对比较的 Bradley-Terry 损失。", "回归人类打的绝对分数", False),
    ("q48", "value model 用 MSE 回归回报，奖励模型用成对比较训练。", "回归人类打的绝对分数", False),
    ("q48", "KL 项鼓励策略远离参考模型，多探索。", "KL 项鼓励策略远离参考模型", True),
    ("q48", "The KL term encourages the policy to move away from the reference.", "KL 项鼓励策略远离参考模型", True),
    ("q48", "KL 惩罚让模型越来越远离 SFT 模型。", "KL 项鼓励策略远离参考模型", True),
    ("q48", "KL 让策略在偏离参考模型时受到惩罚。", "KL 项鼓励策略远离参考模型", False),
    ("q48", "KL 惩罚防止模型为了刷分而远离参考模型。", "KL 项鼓励策略远离参考模型", False),
    ("q49", "β 越大偏离参考模型越多。", "把 β 的方向说反", True),
    ("q49", "Increasing β makes the model drift further from the reference.", "把 β 的方向说反", True),
    ("q49", "A large beta means weaker KL regularization.", "把 β 的方向说反", True),
    ("q49", "β 越大越贴近参考模型，β 越小偏离越多。", "把 β 的方向说反", False),
    (
        "q49",
        "A larger β keeps the policy closer to the reference; a smaller β lets it deviate more.",
        "把 β 的方向说反",
        False,
    ),
    ("q49", "DPO 需要先训练一个奖励模型。", "单独训练一个奖励模型", True),
    ("q49", "DPO needs only the policy and a reference, not a reward model.", "单独训练一个奖励模型", False),
    ("q49", "DPO 训练时需要在线采样。", "在线 RL", True),
    ("q50", "GRPO 和 PPO 一样需要 critic。", "GRPO 仍需要 value model", True),
    ("q50", "GRPO 的优势是由 critic 估计的。", "GRPO 仍需要 value model", True),
    ("q50", "GRPO 也要训练一个价值网络来算 advantage。", "GRPO 仍需要 value model", True),
    ("q50", "GRPO 跟 PPO 差不多，也是 actor-critic。", "GRPO 仍需要 value model", True),
    ("q50", "GRPO 用组内均值代替 value model 做基线。", "GRPO 仍需要 value model", False),
    ("q50", "GRPO 的优势用组内均值代替 critic 来算。", "GRPO 仍需要 value model", False),
    ("q50", "Unlike PPO, GRPO does not need a critic.", "GRPO 仍需要 value model", False),
    ("q50", "RLVR 用神经网络奖励模型给回答打分。", "RLVR 的奖励来自神经网络奖励模型", True),
    ("q50", "RLVR 的奖励来自一个训练好的奖励模型。", "RLVR 的奖励来自神经网络奖励模型", True),
    ("q50", "RLVR uses a neural reward model to score answers.", "RLVR 的奖励来自神经网络奖励模型", True),
    ("q50", "RLVR 用规则代替奖励模型打分。", "RLVR 的奖励来自神经网络奖励模型", False),
    (
        "q50",
        "RLVR uses rule-based rewards instead of a learned reward model.",
        "RLVR 的奖励来自神经网络奖励模型",
        False,
    ),
    ("q50", "RLHF 用奖励模型打分，RLVR 用规则。", "RLVR 的奖励来自神经网络奖励模型", False),
    ("q50", "DeepSeek-R1-Zero 的奖励由一个奖励模型给出。", "R1-Zero 用了神经网络奖励模型", True),
]


@pytest.mark.parametrize(("question_id", "text", "index", "expected"), KEY_POINT_CASES)
def test_key_point_verdict(question_id, text, index, expected):
    assert_key_point_verdict(question_id, text, index, expected)


@pytest.mark.parametrize(("question_id", "text", "label_words", "fires"), MISCONCEPTION_CASES)
def test_misconception_fires_only_on_the_wrong_claim(question_id, text, label_words, fires):
    assert_misconception_matches(question_id, text, label_words, fires)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_reference_and_correct_calibration_answers_are_quiet_and_score_high(question_id):
    assert_reference_and_calibration_answers_quiet(question_id)


@pytest.mark.parametrize("question_id", QUESTION_IDS)
def test_wrong_calibration_answers_are_caught(question_id):
    assert_wrong_calibration_answers_caught(question_id, count=2)
