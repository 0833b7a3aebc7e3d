import math

import torch


def decode_step(x_t, w_q, w_k, w_v, cache):
    q = (x_t @ w_q).unsqueeze(1)
    cache["k"] = (x_t @ w_k).unsqueeze(1)
    cache["v"] = (x_t @ w_v).unsqueeze(1)
    scores = q @ cache["k"].transpose(1, 2) / math.sqrt(q.shape[-1])
    return (torch.softmax(scores, dim=-1) @ cache["v"]).squeeze(1)
