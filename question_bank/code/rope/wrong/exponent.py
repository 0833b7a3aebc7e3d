import torch


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    D = x.shape[-1]
    inv_freq = 1.0 / base ** (torch.arange(D // 2, dtype=torch.float64) / D)  # (D/2,)
    angles = positions.to(torch.float64)[:, None] * inv_freq  # (T, D/2)
    emb = torch.cat([angles, angles], dim=-1)  # (T, D)
    cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
    return x * cos + rotate_half(x) * sin
