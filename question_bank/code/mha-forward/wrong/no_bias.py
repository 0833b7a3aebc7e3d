import math

import torch


def mha_forward(query, key, value, in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias, num_heads, attn_mask=None):
    B, T_q, E = query.shape
    T_k = key.shape[1]
    d_k = E // num_heads
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    q = (query @ w_q.T).view(B, T_q, num_heads, d_k).transpose(1, 2)
    k = (key @ w_k.T).view(B, T_k, num_heads, d_k).transpose(1, 2)
    v = (value @ w_v.T).view(B, T_k, num_heads, d_k).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    out = out.transpose(1, 2).reshape(B, T_q, E)
    return out @ out_proj_weight.T + out_proj_bias
