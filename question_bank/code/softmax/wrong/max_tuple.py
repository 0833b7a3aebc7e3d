import torch


def softmax(x, dim=-1):
    m = x.max(dim=dim, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(dim=dim, keepdim=True)
