import torch


def sliding_window_mask(T: int, window: int) -> torch.Tensor:
    # [i, j] 为 True 当且仅当 j <= i 且 i - j < window
    raise NotImplementedError
