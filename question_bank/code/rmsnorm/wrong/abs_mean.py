import torch


def rms_norm(x, weight, eps=1e-6):
    ms = x.abs().mean(dim=-1, keepdim=True)  # 平均绝对值，不是均方根
    return x / (ms + eps) * weight
