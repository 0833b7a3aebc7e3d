import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    # 1. 沿最后一维求均值和（有偏）方差，keepdim=True
    # 2. 标准化：(x - mu) / sqrt(var + eps)
    # 3. 仿射：* weight + bias
    raise NotImplementedError
