"""The hidden tests' toolkit: compare a learner's output with a reference and say what differs, and which mistake.

Loaded by file path (as the module `codelab_diagnose`) inside the sandboxed runner, where nothing of the app is
importable, and in-process by the tests: it needs only torch and the standard library. Every `check.py` under
`question_bank/code/<slug>/` builds `CASES = [Case(name, run), ...]`; `run(entry)` calls the learner's function
and raises `CheckFailure` with a Chinese-first message when the answer is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

# Mistake name -> the variant's output, or a zero-argument callable computing it (only when needed).
Mistakes = Mapping[str, "torch.Tensor | Callable[[], Any]"]


class CheckFailure(Exception):
    """A wrong answer: the message says what differs (shape, dtype, NaN, largest error) and, if known, why."""


@dataclass(frozen=True)
class Case:
    """One hidden test: `run(entry)` raises CheckFailure (wrong answer) or lets the learner's exception through."""

    name: str
    run: Callable[[Any], None]


def tensor(*shape: int, seed: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    """A reproducible standard-normal tensor (its own generator: cases don't depend on their order)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def fmt_shape(shape: Iterable[int]) -> str:
    dims = tuple(int(d) for d in shape)
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def fmt_index(flat: int, shape: torch.Size) -> str:
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    return "[" + ", ".join(map(str, reversed(idx))) + "]"


def default_tolerance(dtype: torch.dtype) -> float:
    return {torch.float64: 1e-9, torch.float32: 1e-5, torch.bfloat16: 2e-2, torch.float16: 2e-3}.get(dtype, 1e-5)


def _value(v: Any) -> Any:
    return v() if callable(v) and not isinstance(v, torch.Tensor) else v


def _close(got: torch.Tensor, ref: Any, atol: float, rtol: float) -> bool:
    if not isinstance(ref, torch.Tensor) or ref.shape != got.shape:
        return False
    g, r = got.detach().to(torch.float64), ref.detach().to(torch.float64)
    return bool(torch.allclose(g, r, atol=atol, rtol=rtol, equal_nan=True))


def which_mistake(got: Any, mistakes: Mistakes | None, atol: float, rtol: float = 0.0) -> str | None:
    """The name of the first known mistake whose output the learner's output matches, if any."""
    if not mistakes or not isinstance(got, torch.Tensor):
        return None
    for name, variant in mistakes.items():
        try:
            ref = _value(variant)
        except Exception:  # a variant that cannot be computed for this input simply does not match
            continue
        if _close(got, ref, atol, rtol):
            return name
    return None


def _fail(detail: str, mistake: str | None) -> CheckFailure:
    if mistake:
        return CheckFailure(f"{detail}\n→ 看起来是常见错误：{mistake}")
    return CheckFailure(detail)


def expect_tensor(
    got: Any,
    expected: torch.Tensor,
    *,
    atol: float | None = None,
    rtol: float = 0.0,
    what: str = "输出",
    mistakes: Mistakes | None = None,
    check_dtype: bool = True,
) -> None:
    """Raise CheckFailure unless `got` is a tensor of `expected`'s shape and dtype within `atol` + `rtol`·|expected|.

    Checks in the order a person would want them: type, shape, dtype, NaN/Inf, then the largest error and
    where it is. When it fails and `got` equals a known wrong variant, the message names that mistake.
    """
    tol = default_tolerance(expected.dtype) if atol is None else atol
    if (
        isinstance(got, tuple)
        and len(got) >= 1
        and isinstance(got[0], torch.Tensor)
        and not isinstance(expected, tuple)
    ):
        raise CheckFailure(f"{what}应返回一个 torch.Tensor，得到的是长度 {len(got)} 的 tuple（多返回了东西？）")
    if got is None:
        raise CheckFailure(f"{what}是 None：函数没有返回值，是否忘了 return？")
    if not isinstance(got, torch.Tensor):
        raise CheckFailure(f"{what}应为 torch.Tensor，得到 {type(got).__name__}")
    mistake = None
    if got.shape != expected.shape:
        mistake = which_mistake(got, mistakes, tol, rtol)
        raise _fail(f"{what}形状不对：期望 {fmt_shape(expected.shape)}，得到 {fmt_shape(got.shape)}", mistake)
    if check_dtype and got.dtype != expected.dtype:
        raise CheckFailure(
            f"{what} dtype 不对：期望 {str(expected.dtype)[6:]}，得到 {str(got.dtype)[6:]}"
            "（输入是什么 dtype，输出就该是什么 dtype）"
        )
    if expected.dtype == torch.bool:
        differs = got.detach().to(torch.bool) != expected
        if bool(differs.any()):
            first = int(torch.nonzero(differs.flatten())[0])
            detail = (
                f"{what}不对：{fmt_index(first, got.shape)} 期望 {bool(expected.flatten()[first])}，"
                f"得到 {bool(got.flatten()[first])}（共 {int(differs.sum())} 处不同）"
            )
            raise _fail(detail, which_mistake(got, mistakes, 0.5))
        return
    g = got.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    for bad, test in (("NaN", torch.isnan), ("Inf", torch.isinf)):
        wrong = test(g) & ~test(e)
        if bool(wrong.any()):
            first = int(torch.nonzero(wrong.flatten())[0])
            mistake = which_mistake(got, mistakes, tol, rtol)
            raise _fail(
                f"{what}含 {bad}（第一个在 {fmt_index(first, g.shape)}，这里期望 {e.flatten()[first].item():.6g}）",
                mistake,
            )
    if g.numel() == 0:
        return
    finite = torch.isfinite(e)
    special_differs = (~finite) & (g != e)
    if bool(special_differs.any()):
        first = int(torch.nonzero(special_differs.flatten())[0])
        raise _fail(
            f"{what}在 {fmt_index(first, g.shape)} 期望 {e.flatten()[first].item()}，"
            f"得到 {g.flatten()[first].item():.6g}",
            which_mistake(got, mistakes, tol, rtol),
        )
    err = torch.where(finite, (g - e).abs(), torch.zeros_like(g))
    allowed = tol + rtol * e.abs()
    over = err > allowed
    if bool(over.any()):
        flat = int(torch.argmax(torch.where(over, err, torch.zeros_like(err)).flatten()))
        where = fmt_index(flat, g.shape)
        detail = (
            f"{what}数值不对：最大绝对误差 {err.flatten()[flat].item():.1e} 出现在 {where}（容差 {tol:.0e}）："
            f"期望 {e.flatten()[flat].item():.6g}，得到 {g.flatten()[flat].item():.6g}"
        )
        mistake = which_mistake(got, mistakes, tol, rtol)
        if mistake is None and expected.dtype == torch.float64 and bool((err <= 1e-5 * (1 + e.abs())).all()):
            detail += "（误差只在 float32 精度量级：是不是中途用 .float() 或 float32 张量把 float64 降成了 float32？）"
        raise _fail(detail, mistake)


def expect_equal(got: Any, expected: Any, *, what: str = "结果", mistakes: Mapping[str, Any] | None = None) -> None:
    """Exact comparison for non-tensor answers (token lists, ints); names a known mistake on a match."""
    if isinstance(got, torch.Tensor) and not isinstance(expected, torch.Tensor):
        got = got.tolist()
    if got == expected:
        return
    matched = []  # a discrete answer can match several variants on one input: name them all, not just the first
    for name, variant in (mistakes or {}).items():
        try:
            if got == _value(variant):
                matched.append(name)
        except Exception:
            continue
    raise _fail(f"{what}不对：期望 {expected!r}，得到 {got!r}", "；或者：".join(matched) or None)


def expect_scalar(
    got: Any, expected: float, *, atol: float, what: str = "结果", mistakes: Mapping[str, Any] | None = None
) -> None:
    """A float (or 0-dim tensor) within `atol`; names a known mistake whose value it matches."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise CheckFailure(f"{what}应是标量（0 维张量），得到形状 {fmt_shape(got.shape)}")
        got = got.detach().item()
    if got is None:
        raise CheckFailure(f"{what}是 None：函数没有返回值，是否忘了 return？")
    if not isinstance(got, (int, float)):
        raise CheckFailure(f"{what}应是一个数，得到 {type(got).__name__}")
    if math.isnan(got) and not math.isnan(expected):
        raise _fail(f"{what}是 NaN（期望 {expected:.6g}）", None)
    if abs(got - expected) <= atol:
        return
    mistake = None
    for name, variant in (mistakes or {}).items():
        try:
            v = _value(variant)
            v = v.item() if isinstance(v, torch.Tensor) else float(v)
        except Exception:
            continue
        if abs(got - v) <= atol:
            mistake = name
            break
    raise _fail(
        f"{what}不对：期望 {expected:.6g}，得到 {got:.6g}（误差 {abs(got - expected):.1e}，容差 {atol:.0e}）", mistake
    )


def expect_unchanged(before: torch.Tensor, after: torch.Tensor, *, what: str = "输入") -> None:
    """The learner must not modify its inputs in place."""
    if not torch.equal(before, after):
        raise CheckFailure(f"{what}被原地修改了（in-place）：请不要改动传入的张量，返回新张量")
