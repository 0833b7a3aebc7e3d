import torch


def rms_norm(x, weight, eps=1e-6):
    ms = x.pow(2).mean(dim=0, keepdim=True)
    return x * torch.rsqrt(ms + eps) * weight
