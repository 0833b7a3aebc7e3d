import torch


def decoder_mask(tgt, pad_id):
    T = tgt.size(1)
    causal = torch.tril(torch.ones(T, T))
    keys = (tgt != pad_id)[:, None, None, :]
    return keys & causal
