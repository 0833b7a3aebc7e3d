import math

import torch


def decode_step(x_t, w_q, w_k, w_v, cache):
    q = (x_t @ w_q).unsqueeze(1)
    k = (x_t @ w_k).unsqueeze(1)
    v = (x_t @ w_v).unsqueeze(1)
    cache["k"] = k if "k" not in cache else torch.cat([cache["k"], k], dim=1)
    cache["v"] = v if "v" not in cache else torch.cat([cache["v"], v], dim=1)
    scores = q @ cache["k"].transpose(1, 2) / math.sqrt(q.shape[-1])  # (B, 1, t+1)
    keep = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()  # 多余的因果掩码：只剩第 0 个 key
    scores = scores.masked_fill(~keep, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ cache["v"]).squeeze(1)
