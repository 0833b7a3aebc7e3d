"""Hidden tests for RoPE (rotate_half convention): values, relative-position property, norm preservation."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_scalar, expect_tensor, tensor


def _angles(positions, D, base, exponent="2i"):
    idx = torch.arange(0, D, 2, dtype=torch.float64) if exponent == "2i" else torch.arange(D // 2, dtype=torch.float64)
    return positions.to(torch.float64)[:, None] / base ** (idx / D)  # (T, D/2)


def reference(x, positions, base=10000.0, *, pairing="half", sign=1.0, exponent="2i", ignore_positions=False):
    D = x.shape[-1]
    if ignore_positions:
        positions = torch.arange(len(positions))
    a = _angles(positions, D, base, exponent)
    x64 = x.to(torch.float64)
    if pairing == "half":
        x1, x2 = x64[..., : D // 2], x64[..., D // 2 :]
    else:  # interleaved pairs (2i, 2i+1), the GPT-J / original-paper layout
        x1, x2 = x64[..., 0::2], x64[..., 1::2]
    cos, sin = a.cos(), a.sin() * sign
    y1, y2 = x1 * cos - x2 * sin, x2 * cos + x1 * sin
    y = torch.cat([y1, y2], -1) if pairing == "half" else torch.stack([y1, y2], -1).flatten(-2)
    return y.to(x.dtype)


def mistakes(x, positions, base):
    def m(**kw):
        return lambda: reference(x, positions, base, **kw)

    return {
        "配对方式不对：用了相邻两维 (2i, 2i+1) 配对，本题是 rotate_half（第 i 维与第 i + D/2 维配对）": m(
            pairing="adjacent"
        ),
        "旋转方向反了：rotate_half 应为 cat(-x2, x1)（sin 项符号错）": m(sign=-1.0),
        "频率指数不对：θ_i = base^(-2i/D)，下标应取 arange(0, D, 2)": m(exponent="i"),
        "没有使用传入的 positions（用了 0..T-1）": m(ignore_positions=True),
        "频率没有取倒数：θ_i = base^(-2i/D) = 1 / base^(2i/D)": lambda: _rotate_half_with(
            x,
            positions.to(torch.float64)[:, None]
            * base ** (torch.arange(0, x.shape[-1], 2, dtype=torch.float64) / x.shape[-1]),
        ),
        "cos/sin 用 repeat_interleave 交错排列了：rotate_half 写法要 cat([angles, angles], -1)（前后两半）": lambda: (
            _rotate_half_with(x, _angles(positions, x.shape[-1], base), layout="interleave")
        ),
        "rotate_half 忘了负号：应为 cat(-x2, x1)": lambda: _rotate_half_with(
            x, _angles(positions, x.shape[-1], base), negate=False
        ),
    }


def _rotate_half_with(x, angles, *, layout="halves", negate=True):
    """y = x·cos + rotate_half(x)·sin with the (T, D/2) angles laid out as given (the learner's variants)."""
    emb = torch.cat([angles, angles], -1) if layout == "halves" else angles.repeat_interleave(2, -1)
    x64 = x.to(torch.float64)
    x1, x2 = x64.chunk(2, -1)
    rotated = torch.cat([-x2 if negate else x2, x1], -1)
    return (x64 * emb.cos() + rotated * emb.sin()).to(x.dtype)


def value_case(seed, shape, start, dtype, base=10000.0, atol=None):
    def run(fn):
        x = tensor(*shape, seed=seed, dtype=dtype)
        positions = torch.arange(start, start + shape[-2])
        got = fn(x, positions, base=base)
        expect_tensor(got, reference(x, positions, base), atol=atol, mistakes=mistakes(x, positions, base))

    return Case(f"seed={seed}, shape={shape}, 起始位置={start}, base={base:g}, {str(dtype)[6:]}", run)


def relative_position(fn):
    D = 16
    q = tensor(1, D, seed=50, dtype=torch.float64)
    k = tensor(1, D, seed=51, dtype=torch.float64)
    for m, n, shift in [(5, 2, 7), (3, 9, 20), (0, 0, 13)]:
        a = (fn(q, torch.tensor([m])) * fn(k, torch.tensor([n]))).sum()
        b = (fn(q, torch.tensor([m + shift])) * fn(k, torch.tensor([n + shift]))).sum()
        try:
            expect_scalar(b, float(a), atol=1e-9, what=f"q·k 在位置 ({m + shift}, {n + shift})")
        except CheckFailure as exc:
            raise CheckFailure(
                f"相对位置性质不成立：q_m·k_n 应只依赖 m-n，但 ({m},{n}) 与 ({m + shift},{n + shift}) 不同。{exc}"
            )


def keeps_norm(fn):
    x = tensor(3, 5, 8, seed=60, dtype=torch.float64)
    got = fn(x, torch.arange(5) * 3)
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise CheckFailure("输出应与输入同形状")
    err = (got.norm(dim=-1) - x.norm(dim=-1)).abs().max().item()
    if err > 1e-9:
        raise CheckFailure(f"旋转应保持每个向量的长度，但长度变化了 {err:.1e}")


def position_zero_is_identity(fn):
    x = tensor(2, 1, 8, seed=70, dtype=torch.float64)
    expect_tensor(fn(x, torch.tensor([0])), x, what="位置 0 的输出（应与输入相同）")


CASES = [
    value_case(0, (2, 5, 8), 0, torch.float64),
    value_case(1, (2, 3, 4, 16), 0, torch.float32, atol=1e-5),
    value_case(2, (1, 6, 8), 100, torch.float64),
    value_case(3, (3, 4, 32), 7, torch.float64, base=500.0),
    value_case(4, (1, 1, 2), 3, torch.float64),
    Case("相对位置性质：q_m·k_n 只依赖 m-n", relative_position),
    Case("保持向量长度", keeps_norm),
    Case("位置 0 不旋转", position_zero_is_identity),
]
