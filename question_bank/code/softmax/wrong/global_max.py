import torch


def softmax(x, dim=-1):
    e = torch.exp(x - x.max())  # 整个张量的最大值，而不是沿 dim
    return e / e.sum(dim=dim, keepdim=True)
