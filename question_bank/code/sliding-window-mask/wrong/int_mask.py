import torch


def sliding_window_mask(T, window):
    ones = torch.ones(T, T)
    return torch.tril(ones) - torch.tril(ones, diagonal=-window)  # 得到 0/1 的 float，不是布尔
