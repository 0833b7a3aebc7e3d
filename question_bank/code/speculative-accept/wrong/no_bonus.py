import torch


def sample(dist: torch.Tensor, u: float) -> int:
    """逆 CDF：使 cumsum(dist)[t] > u 的最小下标 t。"""
    cdf = torch.cumsum(dist, dim=0)
    t = int(torch.searchsorted(cdf, torch.tensor([u], dtype=cdf.dtype), right=True))
    return min(t, dist.numel() - 1)  # 防止浮点误差让 cdf[-1] 略小于 1


def verify_draft(draft_tokens: torch.Tensor, q: torch.Tensor, p: torch.Tensor, u: torch.Tensor, u_final: float) -> list[int]:
    out = []
    for i, x in enumerate(draft_tokens.tolist()):
        if u[i] * q[i, x] < p[i, x]:  # u < min(1, p/q)
            out.append(x)
            continue
        residual = (p[i] - q[i]).clamp(min=0)
        out.append(sample(residual / residual.sum(), u_final))
        return out
    return out
    return out
