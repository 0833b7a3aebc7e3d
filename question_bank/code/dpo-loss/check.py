"""Hidden tests for the DPO loss: value against the formula, stability at large margins, gradients to the policy."""

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, CheckFailure, expect_scalar, expect_tensor, tensor


def reference(pc, pr, rc, rr, beta):
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def mistakes(pc, pr, rc, rr, beta):
    return {
        "chosen 和 rejected 反了（应是 chosen 的隐式奖励减 rejected 的）": lambda: reference(pr, pc, rr, rc, beta),
        "没有减去参考模型的 log 概率": lambda: -F.logsigmoid(beta * (pc - pr)).mean(),
        "忘了乘 β": lambda: reference(pc, pr, rc, rr, 1.0),
        "β 应乘在 logsigmoid 里面（这里乘在了外面）": lambda: -beta * F.logsigmoid((pc - rc) - (pr - rr)).mean(),
        "用了求和而不是 batch 平均": lambda: -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).sum(),
        "参考模型的项符号反了（应为 policy - ref）": lambda: reference(-pc, -pr, -rc, -rr, beta),
        "整体少了负号：损失是 -logσ(β·margin)（你算的是它的相反数，最小化它会把 chosen 推低）": lambda: (
            -reference(pc, pr, rc, rr, beta)
        ),
        "参考模型的 log 比值应减去：β·[(logπ_θ(y_w) - logπ_θ(y_l)) - (logπ_ref(y_w) - logπ_ref(y_l))]": lambda: (
            -F.logsigmoid(beta * ((pc - pr) + (rc - rr))).mean()
        ),
        "log 概率相除了：隐式奖励是 log 比值 logπ_θ(y) - logπ_ref(y)（相减，不是相除）": lambda: (
            -F.logsigmoid(beta * (pc / rc - pr / rr)).mean()
        ),
    }


def inputs(seed, B, scale=5.0, dtype=torch.float64, grad=False):
    base = tensor(4, B, seed=seed, dtype=dtype, scale=scale) - 20.0
    return [base[i].clone().requires_grad_(grad and i < 2) for i in range(4)]


def value_case(seed, B, beta, scale=5.0, dtype=torch.float64, atol=1e-9):
    def run(fn):
        pc, pr, rc, rr = inputs(seed, B, scale, dtype)
        got = fn(pc, pr, rc, rr, beta=beta)
        if isinstance(got, torch.Tensor) and got.dim() != 0:
            raise CheckFailure(f"应返回 0 维张量（batch 平均），得到形状 {tuple(got.shape)}")
        expected = float(reference(pc, pr, rc, rr, beta))
        found = {k: (lambda f=f: float(f())) for k, f in mistakes(pc, pr, rc, rr, beta).items()}
        expect_scalar(got, expected, atol=atol, what="损失", mistakes=found)

    return Case(f"seed={seed}, B={B}, β={beta}, 尺度={scale}, {str(dtype)[6:]}", run)


def large_margins(fn):
    pc = torch.tensor([-10.0, -900.0, -5.0], dtype=torch.float64)
    pr = torch.tensor([-900.0, -10.0, -5.0], dtype=torch.float64)
    rc = torch.full((3,), -50.0, dtype=torch.float64)
    rr = torch.full((3,), -50.0, dtype=torch.float64)
    got = fn(pc, pr, rc, rr, beta=1.0)
    if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got)):
        raise CheckFailure(f"差值 ±890 时损失是 {got.item()}：数值不稳定，用 F.logsigmoid 而不是 log(sigmoid(x))")
    expect_scalar(got, float(reference(pc, pr, rc, rr, 1.0)), atol=1e-9, what="损失")


def gradients(fn):
    pc, pr, rc, rr = inputs(7, 5, grad=True)
    loss = fn(pc, pr, rc, rr, beta=0.2)
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        loss.backward()
    if pc.grad is None or pr.grad is None:
        raise CheckFailure("策略模型的 log 概率没有收到梯度：不要 detach 它们，也不要在 no_grad 下计算")
    pc2, pr2 = pc.detach().clone().requires_grad_(), pr.detach().clone().requires_grad_()
    reference(pc2, pr2, rc.detach(), rr.detach(), 0.2).backward()
    expect_tensor(pc.grad, pc2.grad, what="对 policy_chosen_logps 的梯度")
    expect_tensor(pr.grad, pr2.grad, what="对 policy_rejected_logps 的梯度")


CASES = [
    value_case(0, 4, 0.1),
    value_case(1, 8, 0.5),
    value_case(2, 1, 0.1),
    value_case(3, 16, 1.0, scale=20.0),
    value_case(4, 6, 0.05, dtype=torch.float32, atol=1e-5),
    Case("大差值（±890）", large_margins),
    Case("梯度流向策略模型", gradients),
]
