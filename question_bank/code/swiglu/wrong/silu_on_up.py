import torch
import torch.nn.functional as F


def swiglu_ffn(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    gate = x @ w_gate.T
    up = F.silu(x @ w_up.T)
    return (gate * up) @ w_down.T  # (..., d)
