import torch


def layer_norm(x, weight, bias, eps=1e-5):
    mu = x.mean(dim=-1, keepdim=True)
    var = (x**2).mean(dim=-1, keepdim=True)  # 忘了减均值：这是均方，不是方差
    return (x - mu) / torch.sqrt(var + eps) * weight + bias
