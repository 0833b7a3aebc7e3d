import torch


def sliding_window_mask(T, window):
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    return (j > i) | (i - j >= window)  # 返回了“要屏蔽的位置”（True = masked）
