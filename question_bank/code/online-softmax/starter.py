import math

import torch


def blockwise_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block_size: int) -> torch.Tensor:
    B, T_q, d = q.shape
    # 1. 初始化 m = -inf, l = 0, o = 0
    # 2. for start in range(0, T_k, block_size): 计算这一块的分数，更新 m, l, o（旧值乘以 exp(m - m_new)）
    # 3. 返回 o / l
    raise NotImplementedError
