import torch


def decoder_mask(tgt: torch.Tensor, pad_id: int) -> torch.Tensor:
    B, T = tgt.shape
    # 1. 因果掩码 (T, T)：下三角（含对角线）为 True
    # 2. key padding 掩码 (B, 1, 1, T)：不是 pad 的 key 为 True
    # 3. 组合成 (B, 1, T, T)
    raise NotImplementedError
