"""Hidden tests for speculative decoding's accept/reject rule, with the random numbers given."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_equal


def _sample(dist, u):
    cdf = torch.cumsum(dist, 0)
    return min(int(torch.searchsorted(cdf, torch.tensor([u], dtype=cdf.dtype), right=True)), dist.numel() - 1)


def verify(
    tokens, q, p, u, u_final, *, greedy_accept=False, residual="p-q", bonus=True, stop=True, ratio="p/q", bonus_row=-1
):
    out = []
    for i, x in enumerate(tokens.tolist()):
        accept = bool(p[i, x] >= q[i, x]) if greedy_accept else bool(u[i] * q[i, x] < p[i, x])
        if ratio == "q/p":
            accept = bool(u[i] * p[i, x] < q[i, x])
        if accept:
            out.append(x)
            continue
        if residual in ("p-q", "unnormalised"):
            r = (p[i] - q[i]).clamp(min=0)
        else:
            r = (q[i] - p[i]).clamp(min=0) if residual == "q-p" else p[i].clone()
        out.append(_sample(r if residual == "unnormalised" else r / r.sum(), u_final))
        if stop:
            return out
    if bonus:
        out.append(_sample(p[bonus_row], u_final))
    return out


def mistakes(tokens, q, p, u, u_final):
    def m(**kw):
        return lambda: verify(tokens, q, p, u, u_final, **kw)

    return {
        "接受概率应为 min(1, p/q) 与随机数比较（这里只在 p ≥ q 时接受，丢掉了 p < q 时按概率接受的情况）": m(
            greedy_accept=True
        ),
        "拒绝后应从 max(0, p − q) 归一化后的残差分布采样（这里直接从 p 采样）": m(residual="p"),
        "全部接受时还应从 p 的最后一行（第 K+1 个位置）多采一个 token": m(bonus=False),
        "拒绝后应立即停止（后面的 draft token 都作废）": m(stop=False),
        "接受比值写反了：应为 min(1, p/q)（大模型概率 ÷ 小模型概率）": m(ratio="q/p"),
        "残差方向反了：应为 max(0, p − q)（大模型比小模型多出来的那部分），不是 q − p": m(residual="q-p"),
        "残差分布没有归一化：max(0, p − q) 要除以它的和，才能用 u_final 按逆 CDF 采样": m(residual="unnormalised"),
        "全部接受后多采的那个 token 应来自 p 的最后一行 p[K]（第 K+1 个位置），不是 p[K-1]": m(bonus_row=-2),
    }


def problem(seed, K, V, sharp=2.0, agree=0.7):
    """Draft and target distributions that agree partly, draft tokens sampled from q, uniforms fixed."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(K + 1, V, generator=gen, dtype=torch.float64) * sharp
    p = torch.softmax(base, -1)
    noise = torch.randn(K, V, generator=gen, dtype=torch.float64) * sharp
    q = torch.softmax(agree * base[:K] + (1 - agree) * noise, -1)
    tokens = torch.multinomial(q, 1, generator=gen).squeeze(1)
    u = torch.rand(K, generator=gen, dtype=torch.float64)
    u_final = float(torch.rand(1, generator=gen, dtype=torch.float64))
    return tokens, q, p, u, u_final


def check(fn, tokens, q, p, u, u_final):
    got = fn(tokens.clone(), q.clone(), p.clone(), u.clone(), u_final)
    if isinstance(got, torch.Tensor):
        got = got.tolist()
    if not isinstance(got, list):
        raise CheckFailure(f"应返回 token 列表（list[int]），得到 {type(got).__name__}")
    expect_equal(
        [int(t) for t in got],
        verify(tokens, q, p, u, u_final),
        what="输出的 token 序列",
        mistakes=mistakes(tokens, q, p, u, u_final),
    )


def case(seed, K, V, **kw):
    def run(fn):
        check(fn, *problem(seed, K, V, **kw))

    return Case(f"seed={seed}, K={K}, V={V}", run)


def all_accepted(fn):
    tokens, q, p, u, u_final = problem(40, 4, 6)
    check(fn, tokens, q, p, torch.zeros(4, dtype=torch.float64), u_final)  # u = 0: every draft token accepted


def first_rejected(fn):
    tokens, q, p, u, u_final = problem(41, 3, 5)
    q = q.clone()
    q[0] = 0.0
    q[0, 2] = 1.0
    p = p.clone()
    p[0, 2] = 0.0
    p[0] = p[0] / p[0].sum()  # the target never emits token 2 at position 0
    check(fn, torch.tensor([2, 1, 0]), q, p, torch.full((3,), 0.5, dtype=torch.float64), u_final)


def p_below_q_accepted_by_chance(fn):
    tokens, q, p, u, u_final = problem(42, 2, 4)
    x = int(tokens[0])
    ratio = float(p[0, x] / q[0, x])
    if ratio < 1:  # u just under p/q: accepted although p < q
        check(fn, tokens, q, p, torch.tensor([ratio * 0.9, 0.99], dtype=torch.float64), u_final)
    else:
        check(fn, tokens, q, p, u, u_final)


CASES = [
    case(0, 4, 8),
    case(1, 5, 10),
    case(2, 3, 6, agree=0.3),
    case(3, 6, 12, agree=0.9),
    case(4, 1, 5),
    case(5, 4, 20, sharp=3.0),
    Case("全部接受 → 多采一个", all_accepted),
    Case("第一个就被拒绝（大模型在这里不会输出它）", first_rejected),
    Case("p < q 时按 p/q 的概率接受", p_below_q_accepted_by_chance),
]
