import math

import torch


def mha_forward(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, attn_mask=None):
    B, T_q, E = query.shape
    d_k = E // num_heads
    # 1. 用 in_proj_weight / in_proj_bias 的三块分别得到 Q, K, V
    # 2. 拆成多头：(B, T, E) -> (B, h, T, d_k)
    # 3. 每个头做缩放点积注意力（attn_mask 为 True 的位置允许关注）
    # 4. 合并头 -> (B, T_q, E)，再做输出投影
    raise NotImplementedError
