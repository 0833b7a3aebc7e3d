"""Hidden tests for RMSNorm over the last dimension, against torch.nn.RMSNorm with the same weight."""

import torch
from codelab_diagnose import Case, expect_tensor, expect_unchanged, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["rms_norm", "RMSNorm"]


def reference(x, weight, eps):
    norm = torch.nn.RMSNorm(x.shape[-1], eps=eps, dtype=x.dtype)
    with torch.no_grad():
        norm.weight.copy_(weight)
        return norm(x)


def mistakes(x, weight, eps):
    ms = x.pow(2).mean(-1, keepdim=True)
    centered = x - x.mean(-1, keepdim=True)
    return {
        "减了均值：那是 LayerNorm（RMSNorm 不做 re-centering）": lambda: (
            centered * torch.rsqrt(centered.pow(2).mean(-1, keepdim=True) + eps) * weight
        ),
        "eps 加在了根号外面（应为 sqrt(mean(x²) + eps)）": lambda: x / (ms.sqrt() + eps) * weight,
        "忘了乘 weight（增益 g）": lambda: x * torch.rsqrt(ms + eps),
        "用了平方和而不是平均值（少除了 d）": lambda: x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + eps) * weight,
        "没有开根号（除以的是均方，不是均方根）": lambda: x / (ms + eps) * weight,
        "用了平均绝对值 mean(|x|)，应为均方根 sqrt(mean(x²) + eps)": lambda: (
            x / (x.abs().mean(-1, keepdim=True) + eps) * weight
        ),
        "求均方的维度不对（应沿最后一维 dim=-1，每个 token 独立）": lambda: (
            x * torch.rsqrt(x.pow(2).mean(0, keepdim=True) + eps) * weight
        ),
    }


def case(seed, shape, dtype, eps=1e-6, scale=1.0, atol=None):
    def run(fn):
        x = tensor(*shape, seed=seed, dtype=dtype, scale=scale) + 0.5
        weight = 1.0 + tensor(shape[-1], seed=seed + 1, dtype=dtype, scale=0.3)
        before = x.clone()
        got = fn(x, weight, eps=eps)
        expect_unchanged(before, x)
        expect_tensor(got, reference(x, weight, eps), atol=atol, mistakes=mistakes(x, weight, eps))

    return Case(f"seed={seed}, shape={shape}, {str(dtype)[6:]}, eps={eps:g}", run)


def non_contiguous(fn):
    x = tensor(5, 2, 8, seed=30, dtype=torch.float64).transpose(0, 1)
    w = torch.ones(8, dtype=torch.float64)
    expect_tensor(fn(x, w, eps=1e-6), reference(x, w, 1e-6), mistakes=mistakes(x, w, 1e-6))


CASES = [
    case(0, (2, 5, 8), torch.float64),
    case(1, (3, 16), torch.float32, atol=1e-5),
    case(2, (4, 4), torch.float64, eps=0.1),
    case(3, (1, 1, 6), torch.float64),
    case(4, (2, 8), torch.float64, scale=1e-3, eps=1e-5),
    case(5, (2, 8), torch.bfloat16, atol=6e-2),
    Case("非连续输入（transpose 之后）", non_contiguous),
]
