import math

import torch


def grouped_query_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False) -> torch.Tensor:
    B, H_q, T_q, D = q.shape
    H_kv = k.shape[1]
    # 1. 把 K/V 的每一组复制给相邻的 H_q // H_kv 个 query 头 -> (B, H_q, T_k, D)
    # 2. 缩放点积注意力（causal 时加下三角掩码）
    raise NotImplementedError
