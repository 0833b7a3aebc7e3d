import math

import torch


def blockwise_attention(q, k, v, block_size):
    s = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])
    w = torch.exp(s - s.amax(-1, keepdim=True))
    return (w / w.sum(-1, keepdim=True)) @ v
