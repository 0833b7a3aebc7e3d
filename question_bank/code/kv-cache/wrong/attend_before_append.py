import math

import torch


def decode_step(x_t, w_q, w_k, w_v, cache):
    q = (x_t @ w_q).unsqueeze(1)
    k = (x_t @ w_k).unsqueeze(1)
    v = (x_t @ w_v).unsqueeze(1)
    if "k" not in cache:
        cache["k"], cache["v"] = k, v
        return v.squeeze(1)
    scores = q @ cache["k"].transpose(1, 2) / math.sqrt(q.shape[-1])
    out = (torch.softmax(scores, dim=-1) @ cache["v"]).squeeze(1)
    cache["k"] = torch.cat([cache["k"], k], dim=1)
    cache["v"] = torch.cat([cache["v"], v], dim=1)
    return out
