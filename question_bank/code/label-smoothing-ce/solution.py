import torch


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float = 0.0, ignore_index: int = -100) -> torch.Tensor:
    logp = torch.log_softmax(logits, dim=-1)  # (N, C)，数值稳定
    valid = target != ignore_index
    safe_target = torch.where(valid, target, torch.zeros_like(target))  # 避免用 ignore_index 去索引
    nll = -logp.gather(1, safe_target[:, None]).squeeze(1)  # (N,)
    smooth = -logp.mean(dim=-1)  # 均匀分布部分：1/C · Σ_c (-log p_c)
    per_sample = (1 - label_smoothing) * nll + label_smoothing * smooth
    per_sample = torch.where(valid, per_sample, torch.zeros_like(per_sample))
    return per_sample.sum() / valid.sum().clamp(min=1)
