import torch


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, positions, base=10000.0):
    D = x.shape[-1]
    freq = base ** (torch.arange(0, D, 2, dtype=torch.float64) / D)  # 忘了取倒数
    angles = positions.to(torch.float64)[:, None] * freq
    emb = torch.cat([angles, angles], dim=-1)
    return x * emb.cos().to(x.dtype) + rotate_half(x) * emb.sin().to(x.dtype)
