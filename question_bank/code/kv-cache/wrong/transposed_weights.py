import math

import torch


def decode_step(x_t, w_q, w_k, w_v, cache):
    q = (x_t @ w_q.T).unsqueeze(1)  # 题目说投影是 x @ w，不转置
    k = (x_t @ w_k.T).unsqueeze(1)
    v = (x_t @ w_v.T).unsqueeze(1)
    cache["k"] = k if "k" not in cache else torch.cat([cache["k"], k], dim=1)
    cache["v"] = v if "v" not in cache else torch.cat([cache["v"], v], dim=1)
    scores = q @ cache["k"].transpose(1, 2) / math.sqrt(q.shape[-1])
    return (torch.softmax(scores, dim=-1) @ cache["v"]).squeeze(1)
