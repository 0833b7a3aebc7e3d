import math

import torch


def decode_step(x_t: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor, cache: dict) -> torch.Tensor:
    # 1. 当前 token 的 q, k, v：(B, d) -> (B, 1, d)
    # 2. 把 k, v 沿序列维（dim=1）追加到 cache["k"], cache["v"]
    # 3. q 对缓存中所有 key 做缩放点积注意力，返回 (B, d)
    raise NotImplementedError
