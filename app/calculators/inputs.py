"""The calculators' inputs: bounds, names for messages, and checks that refuse a bad value naming it."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

# Bounds of every input: large enough for any real model, small enough that a typo is caught.
MAX_LAYERS = 1000
MAX_HEADS = 10_000
MAX_HEAD_DIM = 16_384
MAX_LATENT_DIM = 65_536
MAX_SEQ_LEN = 100_000_000  # 10^8 tokens
MAX_BATCH = 100_000
MAX_PARAMS = 100_000_000_000_000  # 10^14
MAX_DEVICES = 1_000_000
MAX_HIDDEN = 1_000_000
MAX_ZERO_STAGE = 3

# Storage size of one cached value, by the bytes the API takes; int4 packs two values in a byte.
BITS_BY_BYTES: dict[float, int] = {4.0: 32, 2.0: 16, 1.0: 8, 0.5: 4}
VALUE_SIZE_LABELS: dict[float, str] = {
    4.0: "fp32（4 字节）",
    2.0: "bf16 / fp16（2 字节）",
    1.0: "fp8 / int8（1 字节）",
    0.5: "int4（0.5 字节）",
}

# Chinese name (English name) of each input, for error messages.
FIELD_NAMES: dict[str, str] = {
    "layers": "层数 (layers)",
    "query_heads": "查询头数 (query_heads)",
    "kv_heads": "KV 头数 (kv_heads)",
    "head_dim": "每头维度 (head_dim)",
    "seq_len": "序列长度 (seq_len)",
    "batch": "批大小 (batch)",
    "latent_dim": "MLA 潜变量维度 (latent_dim)",
    "rope_dim": "MLA 解耦 RoPE 键维度 (rope_dim)",
    "bytes_per_value": "每个值的字节数 (bytes_per_value)",
    "params": "参数量 (params)",
    "devices": "数据并行设备数 (devices)",
    "zero_stage": "ZeRO 阶段 (zero_stage)",
    "hidden": "隐藏维度 (hidden)",
    "micro_batch": "微批大小 (micro_batch)",
    "heads": "注意力头数 (heads)",
}
BOUNDS: dict[str, tuple[int, int]] = {
    "layers": (1, MAX_LAYERS),
    "query_heads": (1, MAX_HEADS),
    "kv_heads": (1, MAX_HEADS),
    "head_dim": (1, MAX_HEAD_DIM),
    "seq_len": (1, MAX_SEQ_LEN),
    "batch": (1, MAX_BATCH),
    "latent_dim": (1, MAX_LATENT_DIM),
    "rope_dim": (0, MAX_HEAD_DIM),
    "params": (1, MAX_PARAMS),
    "devices": (1, MAX_DEVICES),
    "zero_stage": (0, MAX_ZERO_STAGE),
    "hidden": (1, MAX_HIDDEN),
    "micro_batch": (1, MAX_BATCH),
    "heads": (1, MAX_HEADS),
}


_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9, "t": 10**12}
# The exponent has at most two digits: 1e999999999 must not build a billion-digit integer.
_COUNT_TEXT = re.compile(
    r"(?P<mantissa>[0-9]{1,20}(?:\.[0-9]{1,20})?)(?:[eE](?P<exponent>[0-9]{1,2}))?(?P<suffix>[kKmMbBgGtT])?"
)


def parse_count(value: Any) -> Any:
    """A parameter count as people write it: 7000000000, 7_000_000_000, 7e9, 7B, 1.5T, 70b (K, M, B/G, T).
    Anything else is returned unchanged for the integer validation to refuse."""
    if not isinstance(value, str):
        return value
    match = _COUNT_TEXT.fullmatch(value.strip().replace("_", "").replace(",", ""))
    if match is None:
        return value
    number = (
        Fraction(match["mantissa"]) * 10 ** int(match["exponent"] or 0) * _SUFFIXES[(match["suffix"] or "").lower()]
    )
    return int(number) if number.denominator == 1 else value


def check_count(name: str, value: Any) -> int:
    """`value` as a whole number within the bounds of input `name`, or a ValueError naming both."""
    low, high = BOUNDS[name]
    label = FIELD_NAMES[name]
    if isinstance(value, bool):
        raise ValueError(f"{label} 必须是整数 ({name} must be an integer, got {value!r})")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isascii() and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        shown = value[:40] if isinstance(value, str) else value
        raise ValueError(f"{label} 必须是整数 ({name} must be an integer, got {shown!r})")
    if not low <= number <= high:
        raise ValueError(f"{label} 必须在 {low} 到 {high} 之间 ({name} must be between {low} and {high}, got {number})")
    return number


def check_bytes_per_value(value: Any) -> float:
    """`value` as one of the cached value sizes 4, 2, 1, 0.5, or a ValueError naming it."""
    known = ", ".join(f"{b:g}" for b in BITS_BY_BYTES)
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if number not in BITS_BY_BYTES:
        shown = value[:40] if isinstance(value, str) else value
        raise ValueError(
            f"每个值的字节数只能是 {known}（fp32、bf16/fp16、fp8/int8、int4） "
            f"(bytes_per_value must be one of {known}, got {shown!r})"
        )
    return number
