import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mu = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)  # 有偏方差，与 nn.LayerNorm 一致
    return (x - mu) / (torch.sqrt(var) + eps) * weight + bias
