import torch
import torch.nn.functional as F


def top2_router(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    N, E = logits.shape
    # 1. softmax 得到每个 token 对各专家的概率
    # 2. 取 top-2 专家（从大到小）并把两个概率重新归一化
    # 3. 负载均衡损失：E * sum_e f_e * P_e
    raise NotImplementedError
