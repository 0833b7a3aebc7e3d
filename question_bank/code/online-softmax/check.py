"""Hidden tests for blockwise attention with online softmax: equal to full attention, without the full score matrix."""

import math

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["scaled_dot_product_attention", "softmax", "log_softmax"]


def reference(q, k, v):
    return torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1) @ v


def online(q, k, v, block, *, rescale_o=True, rescale_l=True, scale=True, keep_first_max=False, **wrong):
    B, T_q, d = q.shape
    m = torch.full((B, T_q, 1), float("-inf"), dtype=q.dtype)
    l = torch.zeros(B, T_q, 1, dtype=q.dtype)
    o = torch.zeros(B, T_q, v.shape[-1], dtype=q.dtype)
    stop = k.shape[1] - block + 1 if wrong.get("drop_last") else k.shape[1]
    for start in range(0, stop, block):
        s = q @ k[:, start : start + block].transpose(1, 2) / (math.sqrt(d) if scale else 1.0)
        m_new = (
            s.amax(-1, keepdim=True) if keep_first_max and start == 0 else torch.maximum(m, s.amax(-1, keepdim=True))
        )
        if keep_first_max and start > 0:
            m_new = m
        p = torch.exp(s - m_new)
        factor = torch.exp(m - m_new)
        if wrong.get("inverted_factor"):
            factor = torch.where(torch.isinf(m), torch.zeros_like(m), torch.exp(m_new - m))
        l = (factor * l if rescale_l else l) + p.sum(-1, keepdim=True)
        o = (factor * o if rescale_o else o) + p @ v[:, start : start + block]
        if wrong.get("normalise_each"):
            o = o / l
        if not wrong.get("no_m_update"):
            m = m_new
    if wrong.get("normalise_each"):
        return o
    return o / l


def mistakes(q, k, v, block):
    return {
        "忘了用 exp(m_old - m_new) 重新缩放之前累加的输出 o": lambda: online(q, k, v, block, rescale_o=False),
        "忘了用 exp(m_old - m_new) 重新缩放之前累加的指数和 ℓ": lambda: online(q, k, v, block, rescale_l=False),
        "o 和 ℓ 都没有重新缩放（最大值变了，旧的累加量要乘 exp(m_old - m_new)）": lambda: online(
            q, k, v, block, rescale_o=False, rescale_l=False
        ),
        "缺少 1/√d 缩放": lambda: online(q, k, v, block, scale=False),
        "只用了第一块的最大值，没有随新块更新 m": lambda: online(q, k, v, block, keep_first_max=True),
        "循环末尾忘了 m = m_new：m 一直是 -inf，每块的 exp(m - m_new) = 0 把之前的累加全清零了（结果只剩最后一块）": lambda: (
            online(q, k, v, block, no_m_update=True)
        ),
        "最后一块不满时被丢掉了：range(0, T_k, block_size)，最后一块可以少于 block_size 个": lambda: online(
            q, k, v, block, drop_last=True
        ),
        "每块都除了一次 ℓ：o 要保持未归一化，全部块处理完后只除一次 o / ℓ": lambda: online(
            q, k, v, block, normalise_each=True
        ),
        "重新缩放的指数符号反了：应乘 exp(m_old - m_new)（≤ 1），不是 exp(m_new - m_old)": lambda: online(
            q, k, v, block, inverted_factor=True
        ),
    }


class Watched(torch.Tensor):
    """Records the shape of every tensor computed from K, to catch a full (T_q, T_k) score matrix."""

    shapes: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        out = super().__torch_function__(func, types, args, kwargs or {})
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                cls.shapes.append(tuple(t.shape))
        return out


def plain(t):
    return t.as_subclass(torch.Tensor) if isinstance(t, torch.Tensor) else t


def case(seed, B, T_q, T_k, d, d_v, block, dtype=torch.float64, scale=1.0, atol=None):
    def run(fn):
        q = tensor(B, T_q, d, seed=seed, dtype=dtype, scale=scale)
        k = tensor(B, T_k, d, seed=seed + 1, dtype=dtype, scale=scale)
        v = tensor(B, T_k, d_v, seed=seed + 2, dtype=dtype)
        got = plain(fn(q, k, v, block_size=block))
        expect_tensor(got, reference(q, k, v), atol=atol, mistakes=mistakes(q, k, v, block))

    return Case(f"seed={seed}, B={B}, T_q={T_q}, T_k={T_k}, d={d}, d_v={d_v}, block={block}, {str(dtype)[6:]}", run)


def no_full_matrix(fn):
    B, T_q, T_k, d, d_v, block = 1, 6, 23, 8, 5, 4
    q = tensor(B, T_q, d, seed=70, dtype=torch.float64)
    k = tensor(B, T_k, d, seed=71, dtype=torch.float64)
    v = tensor(B, T_k, d_v, seed=72, dtype=torch.float64)
    Watched.shapes = []
    got = plain(fn(q, k.as_subclass(Watched), v.as_subclass(Watched), block_size=block))
    full = [s for s in Watched.shapes if len(s) >= 2 and s[-2:] in ((T_q, T_k), (T_k, T_q))]
    if full:
        raise CheckFailure(
            f"构造了完整的 {T_q}×{T_k} 分数矩阵（形状 {full[0]}）：应按 block_size={block} 一块一块地读 key，"
            "只保留 m、ℓ 和 o"
        )
    expect_tensor(got, reference(q, k, v), mistakes=mistakes(q, k, v, block))


CASES = [
    case(0, 2, 5, 13, 8, 4, 4),
    case(1, 1, 7, 16, 16, 16, 16),
    case(2, 3, 4, 9, 8, 8, 1),
    case(3, 2, 6, 20, 8, 6, 7, dtype=torch.float32, atol=1e-5),
    case(4, 1, 3, 10, 4, 4, 32),
    case(5, 2, 5, 12, 8, 4, 3, scale=6.0),
    Case("不构造完整的 (T_q, T_k) 分数矩阵", no_full_matrix),
]
