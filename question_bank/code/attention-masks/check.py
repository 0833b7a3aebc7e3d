"""Hidden tests for the decoder's causal + key-padding mask (True = may attend), as model/transformer.py builds it."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor


def reference(tgt, pad_id):
    T = tgt.size(1)
    return (tgt != pad_id)[:, None, None, :] & torch.tril(torch.ones(T, T, dtype=torch.bool))


def mistakes(tgt, pad_id):
    T = tgt.size(1)
    keys = (tgt != pad_id)[:, None, None, :]
    queries = (tgt != pad_id)[:, None, :, None]
    ones = torch.ones(T, T, dtype=torch.bool)
    return {
        "因果掩码多看了一位（tril 的 diagonal 应为 0）": lambda: keys & torch.tril(ones, diagonal=1),
        "因果掩码少看了自己（对角线应为 True）": lambda: keys & torch.tril(ones, diagonal=-1),
        "因果掩码方向反了（用了 triu，看到了未来）": lambda: keys & torch.triu(ones),
        "padding 掩码加在了 query 维（应屏蔽 key，即最后一维）": lambda: queries & torch.tril(ones),
        "padding 掩码加在了 query 维（应屏蔽 key，即最后一维）。": lambda: queries & keys & torch.tril(ones),
        "两个掩码用了 or 组合（应两者都满足：&）": lambda: keys | torch.tril(ones),
        "掩码取反了（True 应表示允许关注）": lambda: ~(keys & torch.tril(ones)),
        "padding 掩码取反了（非 padding 的 key 才能看：tgt != pad_id）": lambda: ~keys & torch.tril(ones),
    }


def check(fn, tgt, pad_id):
    got = fn(tgt.clone(), pad_id)
    if isinstance(got, torch.Tensor) and got.dtype != torch.bool:
        raise CheckFailure(f"掩码应为布尔张量（torch.bool），得到 {str(got.dtype)[6:]}")
    expected = reference(tgt, pad_id)
    if isinstance(got, torch.Tensor) and got.dim() == 3 and got.shape == (tgt.size(0), tgt.size(1), tgt.size(1)):
        raise CheckFailure(
            f"形状不对：期望 (B, 1, T, T) = {tuple(expected.shape)}，得到 {tuple(got.shape)}（少了给头广播的那一维）"
        )
    expect_tensor(got, expected, what="掩码", mistakes=mistakes(tgt, pad_id))


def ids(seed, B, T, pad_id, vocab=20):
    gen = torch.Generator().manual_seed(seed)
    tgt = torch.randint(1, vocab, (B, T), generator=gen)
    tgt[tgt == pad_id] = pad_id + 1
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    for b in range(B):
        tgt[b, lengths[b] :] = pad_id
    return tgt


def case(name, tgt, pad_id):
    return Case(name, lambda fn: check(fn, tgt, pad_id))


CASES = [
    case("B=2, T=5, pad_id=0，末尾 padding", torch.tensor([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]]), 0),
    case("seed=1, B=4, T=7, pad_id=0", ids(1, 4, 7, 0), 0),
    case("seed=2, B=3, T=6, pad_id=2", ids(2, 3, 6, 2), 2),
    case("没有 padding（纯因果）", torch.arange(1, 7).view(1, 6), 0),
    case("T=1", torch.tensor([[5], [0]]), 0),
    case("整句都是 padding", torch.zeros(1, 4, dtype=torch.long), 0),
    case("padding 在中间（不只在末尾）", torch.tensor([[5, 0, 6, 7]]), 0),
]
