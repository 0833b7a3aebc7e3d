"""Training memory per data-parallel device: model states by precision, optimizer and ZeRO stage (Rajbhandari
et al. 2020), activations per Korthikanti et al. 2022."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any

from app.calculators.inputs import check_count
from app.calculators.units import human_bytes, latex_number, thin


class Precision(StrEnum):
    """Number formats of weights, gradients and optimizer states during training.

    fp8 mixed precision is left out: FP8 recipes (Transformer Engine, DeepSeek-V3) differ in which copies they
    keep and in what format, so no single bytes-per-parameter figure would be honest.
    """

    FP32 = "fp32"  # everything in fp32
    BF16_MIXED = "bf16-mixed"  # bf16 weights and gradients, fp32 master weights and optimizer states
    BF16 = "bf16"  # pure bf16: weights, gradients and optimizer states in bf16, no master copy


class Optimizer(StrEnum):
    """Optimizers by the state they keep per parameter."""

    ADAMW = "adamw"  # momentum + variance
    SGD_MOMENTUM = "sgd-momentum"  # momentum
    SGD = "sgd"  # nothing
    ADAM_8BIT = "adam-8bit"  # momentum + variance, 1 byte each (bitsandbytes block-wise quantisation)


PRECISION_LABELS: dict[Precision, str] = {
    Precision.FP32: "fp32 全精度",
    Precision.BF16_MIXED: "bf16 混合精度（fp32 主权重）",
    Precision.BF16: "纯 bf16（无 fp32 主权重）",
}
OPTIMIZER_LABELS: dict[Optimizer, str] = {
    Optimizer.ADAMW: "AdamW（动量 + 方差）",
    Optimizer.SGD_MOMENTUM: "SGD + momentum",
    Optimizer.SGD: "SGD（无状态）",
    Optimizer.ADAM_8BIT: "8-bit Adam（bitsandbytes）",
}
ZERO_LABELS: dict[int, str] = {
    0: "ZeRO-0（普通 DDP，不切分）",
    1: "ZeRO-1（切分优化器状态）",
    2: "ZeRO-2（再切分梯度）",
    3: "ZeRO-3（再切分权重）",
}
_STATES_PER_PARAM: dict[Optimizer, int] = {
    Optimizer.ADAMW: 2,
    Optimizer.SGD_MOMENTUM: 1,
    Optimizer.SGD: 0,
    Optimizer.ADAM_8BIT: 2,
}
# (weights, gradients, master weights, bytes per optimizer state value) by precision.
_PRECISION_BYTES: dict[Precision, tuple[int, int, int, int]] = {
    Precision.FP32: (4, 4, 0, 4),
    Precision.BF16_MIXED: (2, 2, 4, 4),
    Precision.BF16: (2, 2, 0, 2),
}
BREAKDOWN_LABELS: dict[str, str] = {
    "weights": "权重 weights",
    "gradients": "梯度 gradients",
    "optimizer_states": "优化器状态 optimizer states",
    "master_weights": "fp32 主权重 master weights",
    "activations": "激活 activations",
}
ESTIMATE_NOTE = (
    "估算值：激活按 Korthikanti et al. 2022 的每层公式（不含 embedding、logits/loss、临时缓冲区、"
    "通信缓冲和显存碎片），实际峰值会更高。"
    "(Estimates: activations follow Korthikanti et al. 2022 per layer; embeddings, logits/loss, temporary and "
    "communication buffers and fragmentation are excluded, so real peaks are higher.)"
)


@dataclass(frozen=True)
class ActivationShape:
    """The shape that sets activation memory: one micro-batch on one device, no tensor/sequence parallelism."""

    layers: int
    hidden: int
    seq_len: int
    micro_batch: int
    heads: int


@dataclass(frozen=True)
class TrainingMemoryResult:
    """Memory per data-parallel device for one training step, with its parts."""

    bytes: int
    breakdown: dict[str, int]  # weights, gradients, optimizer_states, master_weights, activations
    bytes_per_param: dict[str, int]  # before sharding
    sharded_over: dict[str, int]  # how many devices share each part
    states_bytes: int  # everything but activations, per device
    states_bytes_unsharded: int  # the same on one device (ZeRO-0)
    activation_bytes_per_layer: int
    recompute_peak_extra: int  # one layer's full activations, rebuilt during backward (full recomputation only)
    formula: str
    formula_latex: str
    activation_formula: str
    human: dict[str, str]
    human_breakdown: dict[str, dict[str, str]]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _activation_bytes_per_layer(shape: ActivationShape, element_bytes: int, recompute: bool) -> tuple[int, str]:
    """Per-layer activation bytes and the formula with numbers (Korthikanti et al. 2022, §4.1).

    Of the 34·sbh + 5·a·s²·b bytes, the dropout masks (2·sbh + a·s²·b) take one byte per element whatever the
    precision; the rest (32·sbh + 4·a·s²·b) is 16-bit tensors, which fp32 training doubles.
    """
    s, b, h, a = shape.seq_len, shape.micro_batch, shape.hidden, shape.heads
    sbh = s * b * h
    if recompute:
        per_layer = element_bytes * sbh
        return per_layer, f"{element_bytes} · {thin(s)} · {b} · {thin(h)}"
    linear = 16 * element_bytes + 2  # 34 for 16-bit activations, 66 for fp32
    quadratic = 2 * element_bytes + 1  # 5 for 16-bit, 9 for fp32
    per_layer = sbh * linear + quadratic * a * s * s * b
    return per_layer, f"{thin(s)} · {b} · {thin(h)} · ({linear} + {quadratic} · {a} · {thin(s)} / {thin(h)})"


def training_memory(
    *,
    params: int,
    precision: Precision | str = Precision.BF16_MIXED,
    optimizer: Optimizer | str = Optimizer.ADAMW,
    zero_stage: int = 0,
    devices: int = 1,
    activation_checkpointing: bool = False,
    activations: ActivationShape | None = None,
) -> TrainingMemoryResult:
    """Bytes per device: weights, gradients, optimizer states and master weights (sharded by ZeRO stage over
    `devices`), plus activations of one micro-batch when `activations` gives the model shape."""
    params = check_count("params", params)
    zero_stage = check_count("zero_stage", zero_stage)
    devices = check_count("devices", devices)
    try:
        precision = Precision(precision)
    except ValueError:
        known = ", ".join(p.value for p in Precision)
        raise ValueError(f"未知精度 (precision must be one of {known}, got {str(precision)[:40]!r})") from None
    try:
        optimizer = Optimizer(optimizer)
    except ValueError:
        known = ", ".join(o.value for o in Optimizer)
        raise ValueError(f"未知优化器 (optimizer must be one of {known}, got {str(optimizer)[:40]!r})") from None

    weight_b, grad_b, master_b, state_b = _PRECISION_BYTES[precision]
    if optimizer is Optimizer.ADAM_8BIT:
        state_b = 1
    per_param = {
        "weights": weight_b,
        "gradients": grad_b,
        "optimizer_states": _STATES_PER_PARAM[optimizer] * state_b,
        "master_weights": master_b,
    }
    # ZeRO-1 shards the optimizer's fp32 copies (states and master weights: the paper's K), ZeRO-2 also the
    # gradients, ZeRO-3 also the weights.
    sharded_over = {
        "weights": devices if zero_stage >= 3 else 1,
        "gradients": devices if zero_stage >= 2 else 1,
        "optimizer_states": devices if zero_stage >= 1 else 1,
        "master_weights": devices if zero_stage >= 1 else 1,
    }
    breakdown = {part: math.ceil(Fraction(params * per_param[part], sharded_over[part])) for part in per_param}
    states = sum(breakdown.values())
    unsharded = params * sum(per_param.values())

    notes = [ESTIMATE_NOTE]
    per_layer = 0
    peak_extra = 0
    activation_formula = ""
    element_bytes = 4 if precision is Precision.FP32 else 2
    if activations is not None:
        shape = ActivationShape(
            layers=check_count("layers", activations.layers),
            hidden=check_count("hidden", activations.hidden),
            seq_len=check_count("seq_len", activations.seq_len),
            micro_batch=check_count("micro_batch", activations.micro_batch),
            heads=check_count("heads", activations.heads),
        )
        if shape.hidden % shape.heads:
            raise ValueError(
                f"隐藏维度 {shape.hidden} 必须能被头数 {shape.heads} 整除 "
                f"(hidden {shape.hidden} must be a multiple of heads {shape.heads})"
            )
        per_layer, per_layer_text = _activation_bytes_per_layer(shape, element_bytes, activation_checkpointing)
        breakdown["activations"] = shape.layers * per_layer
        activation_formula = f"{shape.layers} 层 × {per_layer_text} = {thin(breakdown['activations'])} B"
        if activation_checkpointing:
            peak_extra, _ = _activation_bytes_per_layer(shape, element_bytes, recompute=False)
            notes.append(
                "全量重算：每层只存输入，反向时逐层重算，峰值再加一层完整激活 "
                f"≈ {human_bytes(peak_extra)['binary']}（未计入总数）。"
                "(Full recomputation keeps each layer's input; backward rebuilds one layer at a time, "
                "adding one layer's activations to the peak, not counted above.)"
            )
        else:
            notes.append(
                "5·a·s/h 一项是注意力分数矩阵 (s×s)；FlashAttention 不存它，激活会少很多。"
                "(The 5·a·s/h term is the s×s attention matrix; FlashAttention does not keep it.)"
            )
    else:
        breakdown["activations"] = 0
        notes.append("未给出模型形状，激活未计入。(No model shape given: activations not counted.)")
    if optimizer is Optimizer.ADAM_8BIT:
        notes.append(
            "8-bit Adam 另存每块（2048 个值）一个 fp32 缩放常数，约为状态的 0.2%，未计入。"
            "(8-bit Adam also keeps one fp32 scale per block of 2048 values, about 0.2% of the states, not counted.)"
        )
    if zero_stage and devices == 1:
        notes.append("只有 1 个设备时 ZeRO 无可切分。(ZeRO shards nothing on a single device.)")

    total = states + breakdown["activations"]
    terms = [part for part in per_param if per_param[part]]
    text_terms = " + ".join(
        f"{per_param[p]}" if sharded_over[p] == 1 else f"{per_param[p]}/{sharded_over[p]}" for p in terms
    )
    latex_terms = " + ".join(
        f"{per_param[p]}" if sharded_over[p] == 1 else rf"\tfrac{{{per_param[p]}}}{{{sharded_over[p]}}}" for p in terms
    )
    human = human_bytes(total)
    formula = f"{thin(params)} 参数 × ({text_terms}) B = {thin(states)} B"
    latex = rf"{latex_number(params)} \times ({latex_terms})\,\text{{B}} = {latex_number(states)}\,\text{{B}}"
    if breakdown["activations"]:
        formula += f"；+ 激活 {thin(breakdown['activations'])} B = {thin(total)} B"
        latex += rf" \;+\; {latex_number(breakdown['activations'])}\,\text{{B}} = {latex_number(total)}\,\text{{B}}"
    formula += f" ≈ {human['binary']} = {human['decimal']}"
    return TrainingMemoryResult(
        bytes=total,
        breakdown=breakdown,
        bytes_per_param=dict(per_param),
        sharded_over=sharded_over,
        states_bytes=states,
        states_bytes_unsharded=unsharded,
        activation_bytes_per_layer=per_layer,
        recompute_peak_extra=peak_extra,
        formula=formula,
        formula_latex=latex,
        activation_formula=activation_formula,
        human=human,
        human_breakdown={part: human_bytes(value) for part, value in breakdown.items()},
        notes=notes,
    )
