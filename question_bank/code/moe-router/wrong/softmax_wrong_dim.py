import torch
import torch.nn.functional as F


def top2_router(logits):
    N, E = logits.shape
    probs = logits.softmax(dim=0)  # 沿 token 维做了 softmax
    top_p, experts = probs.topk(2, dim=-1)
    weights = top_p / top_p.sum(dim=-1, keepdim=True)
    f = F.one_hot(experts, E).to(probs.dtype).mean(dim=(0, 1))
    P = probs.mean(dim=0)
    return weights, experts, E * (f * P).sum()
