"""Hidden tests for the sliding-window causal mask (True = may attend)."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor


def reference(T, window, *, extra=0, causal=True, keep_self=True):
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    near = (i - j < window + extra) if causal else ((i - j).abs() < window + extra)
    mask = near & (j <= i) if causal else near
    if not keep_self:
        mask = mask & (i != j)
    return mask


def mistakes(T, window):
    return {
        "窗口多看了一位（应为 i - j < window，不是 <=）": lambda: reference(T, window, extra=1),
        "窗口少看了一位（窗口含自己共 window 个位置）": lambda: reference(T, window, extra=-1),
        "忘了因果：窗口两侧都看了（后面的未来位置不能看）": lambda: reference(T, window, causal=False),
        "对角线被屏蔽了（每个位置都应能看自己）": lambda: reference(T, window, keep_self=False),
        "只有因果掩码，没有限制窗口": lambda: reference(T, T + 1),
        "行和列弄反了：[i, j] 的 i 是 query、j 是 key，应看过去（j ≤ i），这里看的是未来": lambda: (
            reference(T, window).T
        ),
        "掩码取反了：True = 允许关注，你返回的是要屏蔽的位置": lambda: ~reference(T, window),
    }


def case(T, window):
    def run(fn):
        got = fn(T, window)
        if isinstance(got, torch.Tensor) and got.dtype != torch.bool:
            raise CheckFailure(f"掩码应为布尔张量（torch.bool），得到 {str(got.dtype)[6:]}")
        expect_tensor(got, reference(T, window), what="掩码", mistakes=mistakes(T, window))

    return Case(f"T={T}, window={window}", run)


CASES = [case(4, 2), case(8, 3), case(6, 1), case(5, 5), case(5, 9), case(1, 1), case(12, 4)]
