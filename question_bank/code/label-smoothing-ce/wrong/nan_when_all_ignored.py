import torch


def cross_entropy(logits, target, label_smoothing=0.0, ignore_index=-100):
    logp = torch.log_softmax(logits, dim=-1)
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe[:, None]).squeeze(1)
    per = (1 - label_smoothing) * nll + label_smoothing * (-logp.mean(dim=-1))
    return per[valid].mean()  # 全部被忽略时是空张量的 mean → NaN
