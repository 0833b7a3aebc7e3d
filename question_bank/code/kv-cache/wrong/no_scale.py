import math

import torch


def decode_step(x_t: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor, w_v: torch.Tensor, cache: dict) -> torch.Tensor:
    q = (x_t @ w_q).unsqueeze(1)  # (B, 1, d)
    k = (x_t @ w_k).unsqueeze(1)
    v = (x_t @ w_v).unsqueeze(1)
    cache["k"] = k if "k" not in cache else torch.cat([cache["k"], k], dim=1)  # (B, t+1, d)
    cache["v"] = v if "v" not in cache else torch.cat([cache["v"], v], dim=1)
    scores = q @ cache["k"].transpose(1, 2)  # (B, 1, t+1)
    return (torch.softmax(scores, dim=-1) @ cache["v"]).squeeze(1)  # (B, d)
