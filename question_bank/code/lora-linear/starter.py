import math

import torch
from torch import nn


class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        # 冻结 base；创建 lora_A (r, in) 随机、lora_B (out, r) 全 0；scaling = alpha / r
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def merge(self) -> nn.Linear:
        # 返回新的 nn.Linear：W + scaling * B @ A，偏置不变
        raise NotImplementedError
