"""Hidden tests for the stable softmax: several seeds, shapes, dims and dtypes, large logits and -inf rows."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor, expect_unchanged, tensor

# The library's own implementation of what this exercise asks to write (calls fail the first test).
FORBIDDEN_CALLS = ["softmax", "log_softmax", "Softmax", "LogSoftmax"]


def reference(x: torch.Tensor, dim: int) -> torch.Tensor:
    out = torch.softmax(x.to(torch.float64), dim=dim)
    return torch.nan_to_num(out, nan=0.0).to(x.dtype)


def mistakes(x: torch.Tensor, dim: int) -> dict:
    others = [d for d in range(x.dim()) if d != dim % x.dim()]
    found = {f"softmax 的维度不对（沿 dim={d} 做了 softmax）": (lambda d=d: reference(x, d)) for d in others}
    found["求和时没有 keepdim=True（除法广播错了位）"] = lambda: _no_keepdim(x, dim)
    found["求和没有指定 dim（对整个张量求了和，应沿 dim 求和并 keepdim=True）"] = lambda: _sum_all(x, dim)
    return found


def _sum_all(x: torch.Tensor, dim: int) -> torch.Tensor:
    e = torch.exp(x.to(torch.float64) - x.to(torch.float64).amax(dim=dim, keepdim=True))
    return (e / e.sum()).to(x.dtype)


def _no_keepdim(x: torch.Tensor, dim: int) -> torch.Tensor:
    e = torch.exp(x.to(torch.float64) - x.to(torch.float64).amax(dim=dim, keepdim=True))
    return (e / e.sum(dim=dim)).to(x.dtype)


def compare(fn, x: torch.Tensor, dim: int, atol: float | None = None) -> None:
    before = x.clone()
    got = fn(x, dim=dim)
    expect_unchanged(before, x)
    expect_tensor(got, reference(x, dim), atol=atol, mistakes=mistakes(x, dim))


def random_case(seed: int, shape: tuple, dim: int, dtype: torch.dtype, scale: float = 3.0):
    def run(fn):
        compare(fn, tensor(*shape, seed=seed, dtype=dtype, scale=scale), dim)

    return Case(f"seed={seed}, shape={shape}, dim={dim}, {str(dtype)[6:]}", run)


def large_logits(fn):
    x = torch.tensor([[1000.0, 1000.0, 999.0], [-1000.0, 0.0, 1000.0]], dtype=torch.float32)
    got = fn(x, dim=-1)
    if isinstance(got, torch.Tensor) and not bool(torch.isfinite(got).all()):
        raise CheckFailure("大 logits（±1000）溢出成了 NaN/Inf：先减去每行最大值再取 exp（数值稳定）")
    compare(fn, x, -1)


def rows_of_different_scale(fn):
    x = torch.tensor([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -1001.0]], dtype=torch.float32)
    got = fn(x, dim=-1)
    row_broke = isinstance(got, torch.Tensor) and got.shape == x.shape and not bool(torch.isfinite(got[1]).all())
    if row_broke and bool(torch.isfinite(got[0]).all()):
        raise CheckFailure(
            "第 2 行（-1000 附近）变成了 NaN，第 1 行（1000 附近）却正常：减去的是整个张量的最大值 x.max()，"
            "要沿 dim 取每行自己的最大值（x.amax(dim, keepdim=True)），否则别的行会整行下溢成 0/0"
        )
    compare(fn, x, -1)


def masked_positions(fn):
    x = tensor(3, 5, seed=7, dtype=torch.float64)
    x[0, 1] = float("-inf")
    x[2, :4] = float("-inf")
    compare(fn, x, -1)


def fully_masked_row(fn):
    x = tensor(2, 4, seed=8, dtype=torch.float32)
    x[1] = float("-inf")
    compare(fn, x, 1)


def non_contiguous(fn):
    x = tensor(4, 6, 5, seed=9, dtype=torch.float32).transpose(0, 2)  # (5, 6, 4), not contiguous
    compare(fn, x, 1)


def single_element(fn):
    compare(fn, tensor(3, 1, seed=10, dtype=torch.float64), -1)


def bfloat16(fn):
    compare(fn, tensor(2, 8, seed=11, dtype=torch.bfloat16), -1, atol=2e-2)


CASES = [
    random_case(0, (2, 5), -1, torch.float64),
    random_case(1, (3, 4, 6), -1, torch.float32),
    random_case(2, (3, 4, 6), 1, torch.float64),
    random_case(3, (2, 3, 4), 0, torch.float32),
    Case("大 logits（±1000）", large_logits),
    Case("各行量级相差很大（每行减自己的最大值）", rows_of_different_scale),
    Case("部分位置为 -inf", masked_positions),
    Case("整行都是 -inf → 全 0", fully_masked_row),
    Case("非连续输入（transpose 之后）", non_contiguous),
    Case("长度为 1 的维度", single_element),
    Case("bfloat16（容差 2e-2）", bfloat16),
]
