import torch


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    out = logits.clone()
    if top_k > 0:
        k = min(top_k, out.size(-1))
        kth = torch.topk(out, k, dim=-1).values[..., -1:]  # 每行第 k 大的 logit
        out = out.masked_fill(out < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = out.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # 排在前面的 token 的概率和
        sorted_remove = before >= top_p
        sorted_remove[..., 0] = False  # 至少保留概率最大的
        remove = torch.zeros_like(sorted_remove).scatter(-1, idx, sorted_remove)
        out = out.masked_fill(remove, float("-inf"))
    return out
