"""Hidden tests for scaled dot-product attention with a boolean keep-mask, against F.scaled_dot_product_attention."""

import math

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, expect_tensor, expect_unchanged, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["scaled_dot_product_attention"]

EXCEPTION_HINTS = [
    ("cannot be multiplied", "矩阵乘法的维度对不上：Q 乘的应是 K 的转置 `k.transpose(-2, -1)`（未转置？）"),
    ("first two dimensions of batch2", "矩阵乘法的维度对不上：Q 乘的应是 K 的转置 `k.transpose(-2, -1)`（未转置？）"),
    (
        "must match the size of tensor",
        "形状对不上：K 的转置要用 k.transpose(-2, -1)（对 (B, h, T, d) 的输入，transpose(1, 2) 交换的是头和序列维）；"
        "mask 应能广播到 (..., T_q, T_k)，softmax 沿 key 维（最后一维）",
    ),
]


def _f64(*ts):
    return [t.to(torch.float64) if t is not None and t.is_floating_point() else t for t in ts]


def reference(q, k, v, mask):
    q64, k64, v64 = _f64(q, k, v)
    out = F.scaled_dot_product_attention(q64, k64, v64, attn_mask=mask)
    if mask is not None:  # rows whose keys are all masked: defined as zeros
        keep_any = mask.expand(*out.shape[:-1], k.shape[-2]).any(-1, keepdim=True)
        out = torch.where(keep_any, torch.nan_to_num(out, nan=0.0), torch.zeros_like(out))
    return out.to(q.dtype)


def variant(q, k, v, mask, *, scale=None, after=False, inverted=False, axis=-1, transpose=True, fill=None):
    q64, k64, v64 = _f64(q, k, v)
    kt = k64.transpose(-2, -1) if transpose else k64
    scores = q64 @ kt * (1 / math.sqrt(q.size(-1)) if scale is None else scale)
    m = mask
    if m is not None and inverted:
        m = ~m
    if m is not None and not after:
        scores = scores.masked_fill(~m, float("-inf") if fill is None else fill)
    w = torch.nan_to_num(torch.softmax(scores, dim=axis), nan=0.0)
    if m is not None and after:
        w = w.masked_fill(~m, 0.0)
    return (w @ v64).to(q.dtype)


MINUS_1E9 = "用 -1e9 代替了 -inf 且没处理整行屏蔽：整行被屏蔽时 softmax 变成均匀分布，输出成了 V 的平均（应为 0）"


def mistakes(q, k, v, mask):
    d = q.size(-1)
    return {
        "缺少 1/√d_k 缩放": lambda: variant(q, k, v, mask, scale=1.0),
        "缩放写成了乘以 √d_k": lambda: variant(q, k, v, mask, scale=math.sqrt(d)),
        "缩放用了 1/d_k（应为 1/√d_k）": lambda: variant(q, k, v, mask, scale=1.0 / d),
        "掩码在 softmax 之后（被屏蔽的权重置 0 后没有重新归一化）": lambda: variant(q, k, v, mask, after=True),
        "掩码取反了（True 应表示允许关注）": lambda: variant(q, k, v, mask, inverted=True),
        "softmax 的维度不对（应沿 key 维，即最后一维）": lambda: variant(q, k, v, mask, axis=-2),
        "K 未转置（算成了 Q @ K）": lambda: variant(q, k, v, mask, transpose=False),
        "缩放用了 √T_k（序列长度），应为 √d_k（最后一维）": lambda: variant(
            q, k, v, mask, scale=1 / math.sqrt(k.size(-2))
        ),
        MINUS_1E9: lambda: variant(q, k, v, mask, fill=-1e9),
    }


def compare(fn, q, k, v, mask=None, atol=None):
    copies = [t.clone() for t in (q, k, v)]
    got = fn(q, k, v, mask) if mask is not None else fn(q, k, v)
    for before, after in zip(copies, (q, k, v), strict=True):
        expect_unchanged(before, after)
    expect_tensor(got, reference(q, k, v, mask), atol=atol, mistakes=mistakes(q, k, v, mask))


def random_case(seed, B, T_q, T_k, d_k, d_v, dtype, masked):
    def run(fn):
        q = tensor(B, T_q, d_k, seed=seed, dtype=dtype)
        k = tensor(B, T_k, d_k, seed=seed + 100, dtype=dtype)
        v = tensor(B, T_k, d_v, seed=seed + 200, dtype=dtype)
        mask = None
        if masked:
            gen = torch.Generator().manual_seed(seed + 300)
            mask = torch.rand(B, T_q, T_k, generator=gen) > 0.3
            mask[..., 0] = True  # no fully masked row here (that has its own case)
        compare(fn, q, k, v, mask)

    label = "带掩码" if masked else "无掩码"
    return Case(f"seed={seed}, B={B}, T_q={T_q}, T_k={T_k}, d_k={d_k}, d_v={d_v}, {str(dtype)[6:]}, {label}", run)


def heads_and_broadcast_mask(fn):
    q = tensor(2, 3, 5, 8, seed=21, dtype=torch.float64, scale=2.0)
    k = tensor(2, 3, 6, 8, seed=22, dtype=torch.float64, scale=2.0)
    v = tensor(2, 3, 6, 4, seed=23, dtype=torch.float64)
    mask = torch.tensor([[True] * 4 + [False] * 2, [True] * 6]).view(2, 1, 1, 6)  # key padding, broadcast
    compare(fn, q, k, v, mask)


def causal_mask(fn):
    T = 6
    q, k, v = (tensor(1, T, 8, seed=s, dtype=torch.float64, scale=2.0) for s in (31, 32, 33))
    compare(fn, q, k, v, torch.ones(T, T, dtype=torch.bool).tril())


def fully_masked_row(fn):
    q, k, v = (tensor(2, 4, 8, seed=s, dtype=torch.float32) for s in (41, 42, 43))
    mask = torch.ones(2, 4, 4, dtype=torch.bool)
    mask[0, 2] = False  # query 2 of batch 0 may attend to nothing → zeros
    mask[1, :, 3] = False
    compare(fn, q, k, v, mask)


def square_no_mask(fn):  # T == d_k: a forgotten transpose runs without error here, and is caught by value
    q, k, v = (tensor(2, 4, 4, seed=s, dtype=torch.float64) for s in (51, 52, 53))
    compare(fn, q, k, v)


def length_one(fn):
    q, k, v = (tensor(1, 1, 8, seed=s, dtype=torch.float64) for s in (61, 62, 63))
    compare(fn, q, k, v, torch.ones(1, 1, 1, dtype=torch.bool))


def non_contiguous(fn):
    q = tensor(5, 2, 8, seed=71, dtype=torch.float32).transpose(0, 1)  # (2, 5, 8)
    k = tensor(7, 2, 8, seed=72, dtype=torch.float32).transpose(0, 1)
    v = tensor(7, 2, 8, seed=73, dtype=torch.float32).transpose(0, 1)
    compare(fn, q, k, v, torch.ones(5, 7, dtype=torch.bool).triu(diagonal=-1))


def large_scores(fn):
    q, k, v = (tensor(1, 4, 16, seed=s, dtype=torch.float32, scale=30.0) for s in (81, 82, 83))
    compare(fn, q, k, v, atol=1e-3)


def float16_masked(fn):
    q, k, v = (tensor(2, 5, 8, seed=s, dtype=torch.float16) for s in (94, 95, 96))
    compare(fn, q, k, v, torch.ones(5, 5, dtype=torch.bool).tril(), atol=1e-2)


def bfloat16(fn):
    q, k, v = (tensor(2, 4, 8, seed=s, dtype=torch.bfloat16) for s in (91, 92, 93))
    compare(fn, q, k, v, atol=5e-2)


CASES = [
    random_case(0, 2, 5, 5, 8, 8, torch.float64, masked=False),
    random_case(1, 3, 4, 6, 16, 8, torch.float32, masked=True),
    random_case(2, 1, 7, 3, 4, 5, torch.float64, masked=True),
    Case("多头 (B, h, T, d) + key padding 掩码广播", heads_and_broadcast_mask),
    Case("因果掩码 (T, T) 下三角", causal_mask),
    Case("某个 query 的所有 key 都被屏蔽 → 该行输出 0", fully_masked_row),
    Case("T = d_k = 4（方阵）", square_no_mask),
    Case("长度为 1 的序列", length_one),
    Case("非连续输入（transpose 之后）", non_contiguous),
    Case("大分数（scale=30，float32）", large_scores),
    Case("bfloat16（容差 5e-2）", bfloat16),
    Case("float16 + 因果掩码（容差 1e-2）", float16_masked),
]
