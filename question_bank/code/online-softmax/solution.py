import math

import torch


def blockwise_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_size: int) -> torch.Tensor:
    B, T_q, d = q.shape
    m = torch.full((B, T_q, 1), float("-inf"), dtype=q.dtype)  # 目前为止的最大分数
    l = torch.zeros(B, T_q, 1, dtype=q.dtype)  # 指数和
    o = torch.zeros(B, T_q, v.shape[-1], dtype=q.dtype)  # 未归一化的输出
    for start in range(0, k.shape[1], block_size):
        k_blk, v_blk = k[:, start : start + block_size], v[:, start : start + block_size]
        s = q @ k_blk.transpose(1, 2) / math.sqrt(d)  # (B, T_q, block)
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        p = torch.exp(s - m_new)
        scale = torch.exp(m - m_new)  # 旧累加量的重新缩放（第一块时为 0）
        l = scale * l + p.sum(dim=-1, keepdim=True)
        o = scale * o + p @ v_blk
        m = m_new
    return o / l
