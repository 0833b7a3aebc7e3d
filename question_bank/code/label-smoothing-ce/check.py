"""Hidden tests for cross-entropy with label smoothing and ignore_index, against F.cross_entropy."""

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, CheckFailure, expect_scalar, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"]

EXCEPTION_HINTS = [
    ("out of bounds", "ignore_index（如 -100）不能直接拿来索引：先把这些位置换成 0，算完再用掩码去掉"),
    ("index -100", "ignore_index（如 -100）不能直接拿来索引：先把这些位置换成 0，算完再用掩码去掉"),
]


def reference(logits, target, eps, ignore_index):
    if not bool((target != ignore_index).any()):
        return 0.0
    loss = F.cross_entropy(logits.to(torch.float64), target, label_smoothing=eps, ignore_index=ignore_index)
    return float(loss)


def variant(
    logits, target, eps, ignore_index, *, c_minus_1=False, all_in_mean=False, unstable=False, total=False, smooth=None
):
    x = logits.to(torch.float64)
    logp = torch.log(torch.softmax(x, -1)) if unstable else torch.log_softmax(x, -1)
    C = x.shape[-1]
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    nll = -logp.gather(1, safe[:, None]).squeeze(1)
    if c_minus_1:  # eps spread over the C-1 wrong classes only
        others = (-logp).sum(-1) - nll
        per = (1 - eps) * nll + eps / (C - 1) * others
    elif smooth == "others_over_C":  # ε/C spread over the wrong classes only
        per = (1 - eps) * nll + eps / C * ((-logp).sum(-1) - nll)
    elif smooth == "sum":  # Σ_c (-log p_c) without the 1/C
        per = (1 - eps) * nll + eps * (-logp).sum(-1)
    elif smooth == "no_one_minus":
        per = nll + eps * (-logp).mean(-1)
    else:
        per = (1 - eps) * nll + eps * (-logp).mean(-1)
    per = torch.where(valid, per, torch.zeros_like(per))
    if total:
        return float(per.sum())
    return float(per.sum() / (len(target) if all_in_mean else max(int(valid.sum()), 1)))


def mistakes(logits, target, eps, ignore_index):
    def m(**kw):
        return lambda: variant(logits, target, eps, ignore_index, **kw)

    return {
        "平滑项分母用了 C-1：PyTorch 的标签平滑把 ε 均匀分给全部 C 类（ε/C，包括正确类）": m(c_minus_1=True),
        "ignore_index 的样本也算进了平均的分母（应只除以未被忽略的样本数）": m(all_in_mean=True),
        "用了求和而不是平均（reduction 应为 mean）": m(total=True),
        "数值不稳定：log(softmax(x)) 在大 logits 下会得到 -inf，请用 log_softmax": m(unstable=True),
        "平滑项漏掉了正确类：ε/C 要分给全部 C 类（包括正确类），即 ε · mean_c(-log p_c)": m(smooth="others_over_C"),
        "平滑项没有除以 C：应是 ε · mean_c(-log p_c)，不是 ε · Σ_c(-log p_c)": m(smooth="sum"),
        "正确类那一项忘了乘 (1 - ε)：ℓ = (1 - ε)(-log p_y) + ε · mean_c(-log p_c)": m(smooth="no_one_minus"),
    }


def check(fn, logits, target, eps, ignore_index=-100, atol=1e-9):
    got = fn(logits, target, label_smoothing=eps, ignore_index=ignore_index)
    if isinstance(got, torch.Tensor) and got.dim() != 0:
        raise CheckFailure(f"应返回 0 维张量（标量），得到形状 {tuple(got.shape)}（忘了求平均？）")
    if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got)):
        name = "数值不稳定：log(softmax(x)) 在大 logits 下会得到 -inf，请用 log_softmax"
        raise CheckFailure(
            f"损失是 {got.item()}。→ 看起来是常见错误：{name}"
            if logits.abs().max() > 100
            else f"损失是 {got.item()}（全部被忽略时应返回 0）"
        )
    expect_scalar(
        got,
        reference(logits, target, eps, ignore_index),
        atol=atol,
        what="损失",
        mistakes=mistakes(logits, target, eps, ignore_index),
    )


def targets(seed, N, C, ignore_index=-100, ignored=0):
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(0, C, (N,), generator=gen)
    if ignored:
        t[torch.randperm(N, generator=gen)[:ignored]] = ignore_index
    return t


def case(seed, N, C, eps, dtype=torch.float64, ignored=0, ignore_index=-100, scale=2.0, atol=1e-9):
    def run(fn):
        logits = tensor(N, C, seed=seed, dtype=dtype, scale=scale)
        check(fn, logits, targets(seed + 1, N, C, ignore_index, ignored), eps, ignore_index, atol)

    return Case(
        f"seed={seed}, N={N}, C={C}, ε={eps}, 忽略 {ignored} 个, ignore_index={ignore_index}, {str(dtype)[6:]}", run
    )


def large_logits(fn):
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 500.0]], dtype=torch.float64)
    check(fn, logits, torch.tensor([1, 2]), 0.1)


def all_ignored(fn):
    check(fn, tensor(3, 4, seed=90, dtype=torch.float64), torch.full((3,), -100), 0.1)


CASES = [
    case(0, 8, 5, 0.0),
    case(1, 8, 5, 0.1),
    case(2, 16, 10, 0.2, ignored=5),
    case(3, 6, 4, 0.1, ignored=2, ignore_index=0),
    case(4, 32, 7, 0.1, dtype=torch.float32, ignored=8, atol=1e-5),
    case(5, 1, 3, 0.3),
    case(6, 10, 2, 0.1, ignored=3),
    Case("大 logits（±1000）", large_logits),
    Case("全部被忽略 → 0", all_ignored),
]
