import torch


def top_k_top_p_filter(logits, top_k=0, top_p=1.0):
    out = logits.clone()
    if top_p < 1.0:  # 先 top-p（在原始分布上），再 top-k
        sorted_logits, idx = out.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        sorted_remove = probs.cumsum(dim=-1) - probs >= top_p
        sorted_remove[..., 0] = False
        out = out.masked_fill(torch.zeros_like(sorted_remove).scatter(-1, idx, sorted_remove), float("-inf"))
    if top_k > 0:
        kth = torch.topk(out, min(top_k, out.size(-1)), dim=-1).values[..., -1:]
        out = out.masked_fill(out < kth, float("-inf"))
    return out
