import math

import torch


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    # 1. scores = Q K^T / sqrt(d_k)            # (..., T_q, T_k)
    # 2. mask 为 False 的位置置为 -inf（softmax 之前）
    # 3. softmax 沿 key 维；整行被屏蔽 → 0
    # 4. 加权求和 V                              # (..., T_q, d_v)
    raise NotImplementedError
