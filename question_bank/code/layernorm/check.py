"""Hidden tests for LayerNorm over the last dimension, against nn.LayerNorm with the same weight and bias."""

import torch
from codelab_diagnose import Case, expect_tensor, expect_unchanged, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["layer_norm", "LayerNorm"]


def reference(x, weight, bias, eps):
    ln = torch.nn.LayerNorm(x.shape[-1], eps=eps, dtype=x.dtype)
    with torch.no_grad():
        ln.weight.copy_(weight)
        ln.bias.copy_(bias)
        return ln(x)


def variant(x, weight, bias, eps, *, unbiased=False, eps_outside=False, dim=-1, affine=True, centered_var=True):
    mu = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, unbiased=unbiased, keepdim=True) if centered_var else x.pow(2).mean(dim=dim, keepdim=True)
    y = (x - mu) / (torch.sqrt(var) + eps if eps_outside else torch.sqrt(var + eps))
    return y * weight + bias if affine else y


def mistakes(x, weight, bias, eps):
    def m(**kw):
        return lambda: variant(x, weight, bias, eps, **kw)

    found = {
        "用了无偏方差（除以 d-1）：LayerNorm 用有偏方差（unbiased=False）": m(unbiased=True),
        "eps 加在了根号外面（应为 sqrt(var + eps)）": m(eps_outside=True),
        "忘了仿射变换 γ/β（weight 和 bias）": m(affine=False),
        "用了 x.std()（无偏）且 eps 加在根号外：应为 sqrt(x.var(unbiased=False) + eps)": m(
            unbiased=True, eps_outside=True
        ),
        "方差算成了 mean(x²)：忘了先减均值（σ² = mean((x - μ)²)）": m(centered_var=False),
    }
    if x.dim() >= 2:
        found["归一化的维度不对：沿 batch 维归一化是 BatchNorm（LayerNorm 沿最后一维）"] = m(dim=0)
    if x.dim() >= 3:
        found["归一化的维度不对：把 (T, d) 一起归一化了（LayerNorm 只沿最后一维 d，每个 token 独立）"] = m(
            dim=tuple(range(1, x.dim()))
        )
    return found


def case(seed, shape, dtype, eps=1e-5, scale=1.0, offset=0.0, atol=None):
    def run(fn):
        x = tensor(*shape, seed=seed, dtype=dtype, scale=scale) + offset
        d = shape[-1]
        weight = 1.0 + tensor(d, seed=seed + 1, dtype=dtype, scale=0.3)
        bias = tensor(d, seed=seed + 2, dtype=dtype, scale=0.3)
        before = x.clone()
        got = fn(x, weight, bias, eps=eps)
        expect_unchanged(before, x)
        expect_tensor(got, reference(x, weight, bias, eps), atol=atol, mistakes=mistakes(x, weight, bias, eps))

    return Case(f"seed={seed}, shape={shape}, {str(dtype)[6:]}, eps={eps:g}", run)


def non_contiguous(fn):
    x = tensor(6, 3, 8, seed=40, dtype=torch.float64).transpose(0, 1)  # (3, 6, 8)
    w, b = torch.ones(8, dtype=torch.float64), torch.zeros(8, dtype=torch.float64)
    expect_tensor(fn(x, w, b, eps=1e-5), reference(x, w, b, 1e-5), mistakes=mistakes(x, w, b, 1e-5))


CASES = [
    case(0, (2, 5, 8), torch.float64),
    case(1, (3, 16), torch.float32, atol=1e-5),
    case(2, (4, 4), torch.float64, eps=1e-1),
    case(3, (1, 1, 6), torch.float64),
    case(4, (2, 3, 12), torch.float64, scale=100.0, offset=1000.0, atol=1e-7),
    case(5, (2, 8), torch.bfloat16, atol=6e-2),
    Case("非连续输入（transpose 之后）", non_contiguous),
]
