import torch
import torch.nn.functional as F


def top2_router(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    N, E = logits.shape
    probs = logits.softmax(dim=-1)  # (N, E)
    top_p, experts = probs.topk(2, dim=-1, largest=True, sorted=True)
    top_p, experts = top_p.flip(-1), experts.flip(-1)
    weights = top_p / top_p.sum(dim=-1, keepdim=True)  # 重新归一化
    f = F.one_hot(experts, E).to(probs.dtype).mean(dim=(0, 1))  # (E,) 在 2N 个选择中的占比
    P = probs.mean(dim=0)  # (E,) 平均路由概率
    aux_loss = E * (f * P).sum()
    return weights, experts, aux_loss
