"""Hidden tests for the top-2 MoE router and its Switch-style load-balancing loss."""

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, CheckFailure, expect_equal, expect_scalar, expect_tensor, tensor


def route(
    logits, *, renormalize=True, f_top1=False, times_e=True, from_logits=False, f_over_n=False, wrong=None, axis=-1
):
    N, E = logits.shape
    probs = logits.softmax(axis)
    top_p, experts = probs.topk(2, dim=-1)
    weights = top_p / top_p.sum(-1, keepdim=True) if renormalize else top_p
    if f_top1:
        f = F.one_hot(experts[:, 0], E).to(probs.dtype).mean(0)
    else:
        f = F.one_hot(experts, E).to(probs.dtype).sum((0, 1)) / (N if f_over_n else 2 * N)
    if wrong == "f_weights":  # routing weights summed per expert instead of selection counts
        f = torch.zeros(E, dtype=probs.dtype).scatter_add(0, experts.flatten(), weights.flatten()) / N
    elif wrong == "f_probs":
        f = torch.zeros(E, dtype=probs.dtype).scatter_add(0, experts.flatten(), top_p.flatten()) / N
    elif wrong == "f_all_probs":
        f = probs.mean(0)
    P = (logits if from_logits else probs).mean(0)
    if wrong == "P_weights":
        P = torch.zeros(N, E, dtype=probs.dtype).scatter(1, experts, weights).mean(0)
    aux = (E if times_e else 1) * (f * P).sum()
    return weights, experts, aux


def aux_mistakes(logits):
    def m(**kw):
        return lambda: float(route(logits, **kw)[2])

    return {
        "f_e 只统计了 top-1 的选择（本题统计全部 2N 个 top-2 选择）": m(f_top1=True),
        "缺少专家数 E 的系数（均匀路由时损失应为 1）": m(times_e=False),
        "P_e 应是 softmax 之后的平均概率，不是平均 logits": m(from_logits=True),
        "f_e 的分母应为 2N（每个 token 选了 2 个专家）": m(f_over_n=True),
        "f_e 用了路由权重/概率：f_e 应是专家被选中的次数 ÷ 2N（离散计数，没有梯度）": m(wrong="f_weights"),
        "f_e 用了路由权重/概率：f_e 应是专家被选中的次数 ÷ 2N（离散计数，没有梯度）。": m(wrong="f_probs"),
        "f_e 用了平均概率：那样 aux = E·ΣP_e²，f_e 应是被选中的次数 ÷ 2N（离散计数）": m(wrong="f_all_probs"),
        "P_e 只用了 top-2 的重归一化权重：P_e 应是全部 E 个专家 softmax 概率在 N 个 token 上的平均": m(
            wrong="P_weights"
        ),
    }


def check(fn, logits, atol=None):
    expected = route(logits)
    got = fn(logits.clone())
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        raise CheckFailure(f"应返回 (weights, experts, aux_loss) 三元组，得到 {type(got).__name__}")
    weights, experts, aux = got
    if not isinstance(experts, torch.Tensor) or experts.dtype != torch.long:
        raise CheckFailure("experts 应为 long 张量（专家下标）")
    if experts.shape == expected[1].shape and torch.equal(experts.sort(-1).values, expected[1].sort(-1).values):
        if not torch.equal(experts, expected[1]):
            raise CheckFailure("专家选对了但顺序不对：应按概率从大到小排列（experts[:, 0] 是概率最大的专家）")
    expect_equal(
        experts.tolist(),
        expected[1].tolist(),
        what="top-2 专家",
        mistakes={
            "softmax 沿了 token 维（dim=0）：路由概率应沿专家维（dim=-1）归一化": lambda: route(logits, axis=0)[
                1
            ].tolist()
        },
    )
    unnormalized = route(logits, renormalize=False)[0]
    expect_tensor(
        weights,
        expected[0],
        atol=atol,
        what="路由权重",
        mistakes={"top-2 权重没有重新归一化（两个权重之和应为 1）": unnormalized},
    )
    expect_scalar(aux, float(expected[2]), atol=atol or 1e-9, what="负载均衡损失", mistakes=aux_mistakes(logits))


def case(seed, N, E, dtype=torch.float64, scale=1.5, atol=None):
    def run(fn):
        check(fn, tensor(N, E, seed=seed, dtype=dtype, scale=scale), atol)

    return Case(f"seed={seed}, N={N}, E={E}, {str(dtype)[6:]}", run)


def skewed(fn):
    logits = tensor(12, 4, seed=30, dtype=torch.float64)
    logits[:, 0] += 4.0  # almost every token picks expert 0
    check(fn, logits)


def uniform_is_one(fn):
    logits = torch.zeros(8, 4, dtype=torch.float64) + torch.arange(4) * 1e-9  # equal probabilities, no exact ties
    got = fn(logits)
    expect_scalar(got[2], 1.0, atol=1e-6, what="均匀路由时的负载均衡损失", mistakes=aux_mistakes(logits))


def gradient_flows(fn):
    logits = tensor(6, 5, seed=40, dtype=torch.float64).requires_grad_()
    aux = fn(logits)[2]
    if not (isinstance(aux, torch.Tensor) and aux.requires_grad):
        raise CheckFailure("aux_loss 没有梯度：梯度应通过 P_e（softmax 概率）流回 logits，不要 detach")
    aux.backward()
    ref_logits = logits.detach().clone().requires_grad_()
    route(ref_logits)[2].backward()
    expect_tensor(logits.grad, ref_logits.grad, what="aux_loss 对 logits 的梯度")


CASES = [
    case(0, 8, 4),
    case(1, 16, 8),
    case(2, 5, 3),
    case(3, 1, 2),
    case(4, 32, 6, dtype=torch.float32, atol=1e-5),
    Case("路由严重偏向一个专家", skewed),
    Case("均匀路由 → 损失为 1", uniform_is_one),
    Case("梯度通过 P_e 流回 logits", gradient_flows),
]
