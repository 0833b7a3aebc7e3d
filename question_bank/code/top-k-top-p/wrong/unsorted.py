import torch


def top_k_top_p_filter(logits, top_k=0, top_p=1.0):
    out = logits.clone()
    if top_k > 0:
        kth = torch.topk(out, min(top_k, out.size(-1)), dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p < 1.0:
        probs = out.softmax(dim=-1)
        remove = probs.cumsum(dim=-1) - probs >= top_p
        remove[..., 0] = False
        out = out.masked_fill(remove, float("-inf"))
    return out
