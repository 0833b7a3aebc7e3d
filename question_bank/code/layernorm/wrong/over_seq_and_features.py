import torch


def layer_norm(x, weight, bias, eps=1e-5):
    dims = tuple(range(1, x.dim()))  # 对每个样本的 (T, d) 一起归一化
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
