import torch


def top_k_top_p_filter(logits, top_k=0, top_p=1.0):
    probs = logits.softmax(dim=-1)
    if top_k > 0:
        kth = torch.topk(probs, min(top_k, probs.size(-1)), dim=-1).values[..., -1:]
        probs = probs.masked_fill(probs < kth, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        sorted_remove = sorted_p.cumsum(-1) - sorted_p >= top_p
        sorted_remove[..., 0] = False
        remove = torch.zeros_like(sorted_remove).scatter(-1, idx, sorted_remove)
        probs = probs.masked_fill(remove, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs
