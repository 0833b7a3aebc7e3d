import torch


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    D = x.shape[-1]
    # 1. inv_freq (D/2,) 与角度 positions[:, None] * inv_freq -> (T, D/2)
    # 2. cos / sin 拼成 (T, D)
    # 3. y = x * cos + rotate_half(x) * sin，rotate_half(x) = cat(-x2, x1)
    raise NotImplementedError
