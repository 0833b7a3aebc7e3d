import torch


def cross_entropy(logits, target, label_smoothing=0.0, ignore_index=-100):
    logp = torch.log_softmax(logits, dim=-1)
    C = logits.shape[-1]
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    dist = torch.full_like(logp, label_smoothing / (C - 1))
    dist.scatter_(1, safe[:, None], 1 - label_smoothing)
    per = -(dist * logp).sum(-1)
    per = torch.where(valid, per, torch.zeros_like(per))
    return per.sum() / valid.sum().clamp(min=1)
