import torch


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    ms = x.pow(2).sum(dim=-1, keepdim=True)  # 均方
    return x * torch.rsqrt(ms + eps) * weight
