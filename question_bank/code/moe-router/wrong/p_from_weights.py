import torch
import torch.nn.functional as F


def top2_router(logits):
    N, E = logits.shape
    probs = logits.softmax(dim=-1)
    top_p, experts = probs.topk(2, dim=-1)
    weights = top_p / top_p.sum(dim=-1, keepdim=True)
    f = F.one_hot(experts, E).to(probs.dtype).mean(dim=(0, 1))
    P = torch.zeros(N, E, dtype=probs.dtype).scatter(1, experts, weights).mean(0)  # P 只用了 top-2 的重归一化权重
    return weights, experts, E * (f * P).sum()
