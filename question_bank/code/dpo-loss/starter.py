import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, beta: float = 0.1) -> torch.Tensor:
    # 1. 隐式奖励之差：(policy - ref) 对 chosen 减去 (policy - ref) 对 rejected
    # 2. -logsigmoid(beta * 差值)，数值稳定
    # 3. batch 平均
    raise NotImplementedError
