import torch
import torch.nn.functional as F


def swiglu_ffn(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    gate = F.silu(x @ w_gate.T)  # (..., h)，只有门控分支过激活
    up = x @ w_up.T  # (..., h)
    return (gate * up) @ w_down.T  # (..., d)
