import torch


def positional_encoding(length: int, d_model: int) -> torch.Tensor:
    # 1. 位置 pos (L, 1) 与偶数维下标 2i (d_model/2,)
    # 2. angle = pos / 10000^(2i/d_model)
    # 3. 偶数维 sin、奇数维 cos（交错），返回 float32 (L, d_model)
    raise NotImplementedError
