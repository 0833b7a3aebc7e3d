import torch


def rms_norm(x, weight, eps=1e-6):
    x32 = x.float()  # 为了精度升到 float32……
    return x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps) * weight  # ……却忘了转回 x 的 dtype
