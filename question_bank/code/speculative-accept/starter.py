import torch


def verify_draft(draft_tokens: torch.Tensor, q: torch.Tensor, p: torch.Tensor, u: torch.Tensor, u_final: float) -> list[int]:
    out = []
    # for i, x in enumerate(draft_tokens):
    #     接受：u[i] < min(1, p[i, x] / q[i, x])
    #     拒绝：从 max(0, p[i] - q[i]) 归一化后的分布用 u_final 采样，接上后停止
    # 全部接受：再从 p[-1] 用 u_final 采一个
    raise NotImplementedError
