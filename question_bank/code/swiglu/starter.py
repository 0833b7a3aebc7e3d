import torch
import torch.nn.functional as F


def swiglu_ffn(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    # 1. gate 分支：x @ w_gate.T，过 SiLU
    # 2. up 分支：x @ w_up.T（不过激活）
    # 3. 逐元素相乘，再 @ w_down.T
    raise NotImplementedError
