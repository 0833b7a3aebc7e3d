import torch


def softmax(x, dim=-1):
    m = x.amax(dim=dim, keepdim=True)
    m = torch.where(torch.isinf(m), torch.zeros_like(m), m)
    x.sub_(m).exp_()
    s = x.sum(dim=dim, keepdim=True)
    return x / torch.where(s == 0, torch.ones_like(s), s)
