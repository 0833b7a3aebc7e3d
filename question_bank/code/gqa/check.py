"""Hidden tests for grouped-query attention, against F.scaled_dot_product_attention on expanded K/V heads."""

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, expect_tensor, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["scaled_dot_product_attention"]

EXCEPTION_HINTS = [
    ("must match the size of tensor", "K/V 的头数要先扩展到 H_q（repeat_interleave(H_q // H_kv, dim=1)）再和 Q 相乘"),
]


def reference(q, k, v, causal, *, tile=False, scale=None, causal_diag=0):
    n_rep = q.shape[1] // k.shape[1]
    if tile:
        k, v = k.repeat(1, n_rep, 1, 1), v.repeat(1, n_rep, 1, 1)
    else:
        k, v = k.repeat_interleave(n_rep, 1), v.repeat_interleave(n_rep, 1)
    mask = None
    if causal and causal_diag:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(causal_diag)
        causal = False
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


def mistakes(q, k, v, causal):
    found = {
        "KV 头的分组顺序不对：用了 repeat（0,1,0,1…）而不是 repeat_interleave（0,0,1,1…）": lambda: reference(
            q, k, v, causal, tile=True
        ),
        "缺少 1/√d_k 缩放": lambda: reference(q, k, v, causal, scale=1.0),
    }
    if causal:
        found["因果掩码多看了一位（tril 的 diagonal 应为 0）"] = lambda: reference(q, k, v, causal, causal_diag=1)
        found["忘了因果掩码"] = lambda: reference(q, k, v, False)
        no_self = "因果掩码把对角线也屏蔽了（自己应能看自己：keep = tril()，或 future = triu(diagonal=1)）"
        found[no_self] = lambda: _no_diagonal(q, k, v, nan=False)
        found[no_self + "。"] = lambda: _no_diagonal(q, k, v, nan=True)
    return found


def _no_diagonal(q, k, v, *, nan):
    n_rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(n_rep, 1), v.repeat_interleave(n_rep, 1)
    scores = (q @ k.transpose(-2, -1)) / q.shape[-1] ** 0.5
    keep = torch.ones(scores.shape[-2:], dtype=torch.bool).tril(-1)
    w = torch.softmax(scores.masked_fill(~keep, float("-inf")), -1)
    return (w if nan else torch.nan_to_num(w, nan=0.0)) @ v


def case(seed, B, H_q, H_kv, T, D, causal, dtype, atol=None):
    def run(fn):
        q = tensor(B, H_q, T, D, seed=seed, dtype=dtype)
        k = tensor(B, H_kv, T, D, seed=seed + 1, dtype=dtype)
        v = tensor(B, H_kv, T, D, seed=seed + 2, dtype=dtype)
        got = fn(q, k, v, causal=causal)
        expect_tensor(got, reference(q, k, v, causal), atol=atol, mistakes=mistakes(q, k, v, causal))

    kind = "MQA" if H_kv == 1 else ("MHA" if H_kv == H_q else "GQA")
    return Case(
        f"seed={seed}, B={B}, H_q={H_q}, H_kv={H_kv} ({kind}), T={T}, D={D}, causal={causal}, {str(dtype)[6:]}", run
    )


CASES = [
    case(0, 2, 4, 2, 5, 8, False, torch.float64),
    case(1, 1, 8, 2, 6, 16, True, torch.float64),
    case(2, 2, 6, 3, 4, 8, True, torch.float32, atol=1e-5),
    case(3, 1, 4, 1, 5, 8, True, torch.float64),
    case(4, 2, 4, 4, 3, 8, False, torch.float64),
    case(5, 1, 8, 4, 1, 16, True, torch.float64),
]
