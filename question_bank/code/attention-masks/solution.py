import torch


def decoder_mask(tgt: torch.Tensor, pad_id: int) -> torch.Tensor:
    T = tgt.size(1)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=tgt.device))  # (T, T)
    keys = (tgt != pad_id)[:, None, None, :]  # (B, 1, 1, T)：只屏蔽 key
    return keys & causal  # (B, 1, T, T)
