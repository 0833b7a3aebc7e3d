import torch


def sliding_window_mask(T: int, window: int) -> torch.Tensor:
    i = torch.arange(T)[:, None]  # query 位置
    j = torch.arange(T)[None, :]  # key 位置
    return (j <= i) & (i - j <= window)
