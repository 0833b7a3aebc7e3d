import torch


def softmax(x, dim=-1):
    m = x.amax(dim=0, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    e = torch.exp(x - m)
    s = e.sum(dim=0, keepdim=True)
    return e / torch.where(s == 0, torch.ones_like(s), s)
