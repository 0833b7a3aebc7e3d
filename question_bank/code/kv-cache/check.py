"""Hidden tests for one KV-cached decoding step: step-by-step outputs equal full causal recomputation."""

import math

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, CheckFailure, default_tolerance, expect_tensor, fmt_shape, tensor, which_mistake

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["scaled_dot_product_attention"]


def full(x, w_q, w_k, w_v):
    """All T outputs at once: causal single-head attention over the whole sequence (B, T, d)."""
    return F.scaled_dot_product_attention(x @ w_q, x @ w_k, x @ w_v, is_causal=True)


def step_variants(x, w_q, w_k, w_v, t):
    q, k, v = x[:, t : t + 1] @ w_q, x[:, : t + 1] @ w_k, x[:, : t + 1] @ w_v
    d = x.shape[-1]

    def attend(keys, values, scale=1 / math.sqrt(d)):
        return (torch.softmax(q @ keys.transpose(1, 2) * scale, -1) @ values).squeeze(1)

    def transposed():
        qt, kt, vt = x[:, t : t + 1] @ w_q.T, x[:, : t + 1] @ w_k.T, x[:, : t + 1] @ w_v.T
        return (torch.softmax(qt @ kt.transpose(1, 2) / math.sqrt(d), -1) @ vt).squeeze(1)

    found = {
        "缺少 1/√d 缩放": lambda: attend(k, v, 1.0),
        "缓存被覆盖了：只看到了当前 token（应沿序列维追加，torch.cat(..., dim=1)）": lambda: v[:, -1],
        "softmax 沿了 query 维（长度为 1）：权重全是 1，输出成了 V 的和（应沿最后一维，即 key 维）": lambda: v.sum(1),
        "投影写成了 x @ w.T：本题约定投影是 x @ w（不转置）": transposed,
    }
    if t > 0:
        found["当前 token 的 k/v 没有先加入缓存就做了注意力（看不到自己）"] = lambda: attend(k[:, :-1], v[:, :-1])
        found[
            "只看到了第 0 个 key：一步解码不需要因果掩码（(1, t+1) 的 tril 只留下第一列），缓存里本来就只有过去和现在"
        ] = lambda: v[:, 0]
    return found


def run_steps(fn, x, w_q, w_k, w_v, atol=None):
    B, T, d = x.shape
    expected = full(x, w_q, w_k, w_v)
    cache: dict = {}
    outputs, snapshots = [], []  # run every step first: the last step tells apart mistakes that agree early
    error = None
    for t in range(T):
        try:
            got = fn(x[:, t].clone(), w_q, w_k, w_v, cache)
        except Exception as exc:  # a later step's crash: report the earlier steps' state first
            if t == 0:
                raise
            error = exc
            break
        outputs.append(got.detach().clone() if isinstance(got, torch.Tensor) else got)
        snapshots.append({n: c.detach().clone() if isinstance(c, torch.Tensor) else c for n, c in cache.items()})
    last = len(outputs) - 1
    tol = default_tolerance(x.dtype) if atol is None else atol
    at_last = which_mistake(outputs[last], step_variants(x, w_q, w_k, w_v, last), tol) if last > 0 else None
    for t in range(len(outputs)):
        got, cache = outputs[t], snapshots[t]
        variants = step_variants(x, w_q, w_k, w_v, t)
        if at_last is not None:  # name only the mistake that also explains the last step
            variants = {name: v for name, v in variants.items() if name == at_last}
        for name in ("k", "v"):
            if name not in cache or not isinstance(cache[name], torch.Tensor):
                raise CheckFailure(f"第 {t} 步之后 cache[{name!r}] 不存在：请把 {name} 追加进传入的 dict")
            if t > 0 and cache[name].shape == (B, 1, d):
                raise CheckFailure(
                    f"第 {t} 步之后 cache[{name!r}] 只有 1 个位置：缓存被覆盖了（应沿序列维追加，torch.cat(..., dim=1)）"
                )
            if cache[name].shape != (B, t + 1, d):
                raise CheckFailure(
                    f"第 {t} 步之后 cache[{name!r}] 的形状不对：期望 {fmt_shape((B, t + 1, d))}，"
                    f"得到 {fmt_shape(cache[name].shape)}（应沿序列维 dim=1 拼接）"
                )
        expect_tensor(got, expected[:, t], atol=atol, what=f"第 {t} 步的输出", mistakes=variants)
        for name, w in (("k", w_k), ("v", w_v)):
            expect_tensor(cache[name], x[:, : t + 1] @ w, atol=atol, what=f"第 {t} 步之后的 cache[{name!r}]")
    if error is not None:
        raise error


def case(seed, B, T, d, dtype, atol=None):
    def run(fn):
        x = tensor(B, T, d, seed=seed, dtype=dtype)
        w_q, w_k, w_v = (tensor(d, d, seed=seed + i, dtype=dtype, scale=d**-0.5) for i in (1, 2, 3))
        run_steps(fn, x, w_q, w_k, w_v, atol)

    return Case(f"seed={seed}, B={B}, T={T}, d={d}, {str(dtype)[6:]}", run)


CASES = [
    case(0, 2, 5, 8, torch.float64),
    case(1, 1, 12, 16, torch.float64),
    case(2, 3, 4, 4, torch.float32, atol=1e-5),
    case(3, 1, 1, 8, torch.float64),
    case(4, 4, 6, 8, torch.float64),
    case(5, 1, 20, 8, torch.float64),
]
