"""Hidden tests for the sinusoidal positional encoding (interleaved sin/cos, as model/transformer.py has it)."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor


def _angle(length, d_model, exponent="2i", inverse=False, first=0):
    pos = torch.arange(first, first + length, dtype=torch.float64).unsqueeze(1)
    i = torch.arange(0, d_model, 2, dtype=torch.float64)
    if exponent == "i":
        i = i / 2
    freq = torch.pow(10000.0, i / d_model)
    return pos * freq if inverse else pos / freq


def _interleave(first, second):
    return torch.stack([first, second], dim=-1).flatten(-2)


def reference(length, d_model):
    a = _angle(length, d_model)
    return _interleave(torch.sin(a), torch.cos(a)).float()


def mistakes(length, d_model):
    a = _angle(length, d_model)
    return {
        "sin/cos 没有交错：前一半全是 sin、后一半全是 cos（应偶数维 sin、奇数维 cos）": lambda: torch.cat(
            [torch.sin(a), torch.cos(a)], -1
        ).float(),
        "sin 和 cos 放反了（偶数维应为 sin）": lambda: _interleave(torch.cos(a), torch.sin(a)).float(),
        "指数用了 i/d_model 而不是 2i/d_model": lambda: _interleave(
            torch.sin(_angle(length, d_model, "i")), torch.cos(_angle(length, d_model, "i"))
        ).float(),
        "频率取了倒数（应为 pos 除以 10000^(2i/d)）": lambda: _interleave(
            torch.sin(_angle(length, d_model, inverse=True)), torch.cos(_angle(length, d_model, inverse=True))
        ).float(),
        "每一维用了自己的下标 j 作指数：奇数维 2i+1 应与它前面的偶数维 2i 共用频率 1/10000^(2i/d_model)": lambda: (
            _per_dim_exponent(length, d_model)
        ),
        "位置从 1 开始了：pos 应从 0 开始（第 0 行是 sin 0 = 0、cos 0 = 1）": lambda: _interleave(
            torch.sin(_angle(length, d_model, first=1)), torch.cos(_angle(length, d_model, first=1))
        ).float(),
    }


def _per_dim_exponent(length, d_model):
    pos = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    a = pos / torch.pow(10000.0, torch.arange(d_model, dtype=torch.float64) / d_model)  # (L, d_model)
    return _interleave(torch.sin(a[:, 0::2]), torch.cos(a[:, 1::2])).float()


def case(length, d_model, atol=1e-5):
    def run(fn):
        got = fn(length, d_model)
        if isinstance(got, torch.Tensor) and got.is_floating_point() and got.dtype != torch.float32:
            raise CheckFailure(
                f"dtype 不对：题目要求返回 float32，得到 {str(got.dtype)[6:]}"
                "（用 float64 算角度没问题，最后要 .float()）"
            )
        expect_tensor(got, reference(length, d_model), atol=atol, mistakes=mistakes(length, d_model))

    return Case(f"length={length}, d_model={d_model}", run)


CASES = [
    case(2, 4),
    case(10, 16),
    case(50, 64, atol=1e-4),
    case(1, 8),
    case(7, 2),
    case(0, 6),
    case(200, 32, atol=1e-4),
]
