"""Hidden tests for the multi-head attention forward pass, against nn.MultiheadAttention with copied weights."""

import math

import torch
from codelab_diagnose import Case, expect_tensor, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["MultiheadAttention", "multi_head_attention_forward", "scaled_dot_product_attention"]

EXCEPTION_HINTS = [
    ("shape '[", "view 的形状对不上：拆头应是 view(B, T, h, d_k) 再 transpose(1, 2)；合并头前先 transpose 回来"),
    ("view size is not compatible", "transpose 之后张量不连续：合并头时用 reshape（或 .contiguous().view）"),
    ("cannot be multiplied", "矩阵乘法维度对不上：线性层是 x @ W.T + b，注意 K 要转置"),
]


def make(seed, B, T_q, T_k, E, h, dtype, masked):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, h, batch_first=True, dtype=dtype)
    with torch.no_grad():
        mha.in_proj_bias.copy_(tensor(3 * E, seed=seed + 1, dtype=dtype, scale=0.1))
        mha.out_proj.bias.copy_(tensor(E, seed=seed + 2, dtype=dtype, scale=0.1))
    q = tensor(B, T_q, E, seed=seed + 3, dtype=dtype)
    k = tensor(B, T_k, E, seed=seed + 4, dtype=dtype)
    v = tensor(B, T_k, E, seed=seed + 5, dtype=dtype)
    mask = None
    if masked:
        gen = torch.Generator().manual_seed(seed + 6)
        mask = torch.rand(T_q, T_k, generator=gen) > 0.4
        mask[:, 0] = True
    return mha.eval(), q, k, v, mask


def reference(mha, q, k, v, mask):
    with torch.no_grad():
        return mha(q, k, v, attn_mask=None if mask is None else ~mask, need_weights=False)[0]


def variant(
    mha, q, k, v, mask, *, scale="d_k", split="right", merge="right", out_proj=True, transposed_w=False, **wrong
):
    h, E = mha.num_heads, mha.embed_dim
    d_k = E // h
    B, T_q, _ = q.shape
    T_k = k.shape[1]
    w = [t.detach() for t in mha.in_proj_weight.chunk(3)]
    b = [t.detach() * (0 if wrong.get("no_in_bias") else 1) for t in mha.in_proj_bias.chunk(3)]
    if transposed_w:
        w = [t.T for t in w]

    def heads(x, T):
        if split == "right":
            return x.view(B, T, h, d_k).transpose(1, 2)
        return x.reshape(B, h, T, d_k)

    qh, kh, vh = (heads(x @ wi.T + bi, T) for x, wi, bi, T in zip((q, k, v), w, b, (T_q, T_k, T_k), strict=True))
    s = {"d_k": 1 / math.sqrt(d_k), "E": 1 / math.sqrt(E), "none": 1.0}[scale]
    scores = qh @ kh.transpose(-2, -1) * s
    if mask is not None:
        scores = scores.masked_fill(mask if wrong.get("inverted") else ~mask, float("-inf"))
    weights = torch.softmax(scores, wrong.get("axis", -1))
    if wrong.get("inverted") == "zeros":
        weights = torch.nan_to_num(weights, nan=0.0)
    out = weights @ vh
    out = out.transpose(1, 2).reshape(B, T_q, E) if merge == "right" else out.reshape(B, T_q, E)
    if out_proj:
        out = out @ mha.out_proj.weight.detach().T + mha.out_proj.bias.detach()
    return out


def mistakes(mha, q, k, v, mask):
    def m(**kw):
        return lambda: variant(mha, q, k, v, mask, **kw)

    return {
        "缺少 1/√d_k 缩放": m(scale="none"),
        "缩放用了 √E（应为每个头的 √d_k）": m(scale="E"),
        "拆头方式不对：直接 view(B, h, T, d_k)（应 view(B, T, h, d_k) 再 transpose）": m(split="wrong"),
        "合并头之前没有 transpose 回 (B, T, h, d_k)": m(merge="wrong"),
        "忘了输出投影 out_proj": m(out_proj=False),
        "投影矩阵未转置（线性层是 x @ W.T + b）": m(transposed_w=True),
        "softmax 的维度不对（应沿 key 维，即最后一维）": m(axis=-2),
        "忘了 in_proj 的偏置 b_q / b_k / b_v": m(no_in_bias=True),
        "掩码约定用反了：这道题 True = 允许关注（nn.MultiheadAttention 的布尔 mask 才是 True = 屏蔽）": m(
            inverted="nan"
        ),
        "掩码约定用反了：这道题 True = 允许关注（nn.MultiheadAttention 的布尔 mask 才是 True = 屏蔽）。": m(
            inverted="zeros"
        ),
    }


def case(seed, B, T_q, T_k, E, h, dtype, masked, atol=None):
    def run(fn):
        mha, q, k, v, mask = make(seed, B, T_q, T_k, E, h, dtype, masked)
        args = (q, k, v, mha.in_proj_weight.detach(), mha.in_proj_bias.detach())
        args += (mha.out_proj.weight.detach(), mha.out_proj.bias.detach(), h)
        got = fn(*args, attn_mask=mask) if mask is not None else fn(*args)
        expect_tensor(got, reference(mha, q, k, v, mask), atol=atol, mistakes=mistakes(mha, q, k, v, mask))

    label = "带掩码" if masked else "无掩码"
    return Case(f"seed={seed}, B={B}, T_q={T_q}, T_k={T_k}, E={E}, h={h}, {str(dtype)[6:]}, {label}", run)


CASES = [
    case(0, 2, 5, 5, 8, 2, torch.float64, False),
    case(1, 3, 4, 6, 12, 3, torch.float64, True),
    case(2, 1, 7, 7, 16, 4, torch.float32, True, atol=1e-5),
    case(3, 2, 3, 5, 8, 1, torch.float64, False),
    case(4, 1, 1, 1, 8, 2, torch.float64, False),
    case(5, 2, 6, 6, 32, 8, torch.float32, False, atol=1e-5),
    case(6, 4, 2, 3, 6, 3, torch.float64, True),
]
