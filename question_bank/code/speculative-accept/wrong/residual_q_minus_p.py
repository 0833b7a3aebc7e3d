import torch


def sample(dist, u):
    cdf = torch.cumsum(dist, 0)
    return min(int(torch.searchsorted(cdf, torch.tensor([u], dtype=cdf.dtype), right=True)), dist.numel() - 1)


def verify_draft(draft_tokens, q, p, u, u_final):
    out = []
    for i, x in enumerate(draft_tokens.tolist()):
        if u[i] * q[i, x] < p[i, x]:
            out.append(x)
            continue
        r = (q[i] - p[i]).clamp(min=0)  # 应为 p - q
        out.append(sample(r / r.sum(), u_final))
        return out
    out.append(sample(p[-1], u_final))
    return out
