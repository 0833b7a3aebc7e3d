import torch


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    # 1. 沿最后一维求 x^2 的均值（keepdim=True）
    # 2. x / sqrt(均值 + eps)
    # 3. 乘以 weight
    raise NotImplementedError
