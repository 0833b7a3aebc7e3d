import torch


def apply_rope(x, positions, base=10000.0):
    D = x.shape[-1]
    inv_freq = 1.0 / base ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
    angles = positions.to(torch.float64)[:, None] * inv_freq
    emb = torch.cat([angles, angles], dim=-1)
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat([x2, x1], dim=-1)  # 忘了取负号
    return x * emb.cos().to(x.dtype) + rotated * emb.sin().to(x.dtype)
