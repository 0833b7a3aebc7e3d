"""Hidden tests for top-k then top-p (nucleus) filtering of logits; removed tokens are -inf, kept ones unchanged."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor, expect_unchanged, tensor

NEG = float("-inf")


def _top_k(out, k):
    if k <= 0:
        return out
    kth = torch.topk(out, min(k, out.size(-1)), dim=-1).values[..., -1:]
    return out.masked_fill(out < kth, NEG)


def _top_p(out, p, *, crossing_kept=True, sort=True):
    if p >= 1.0:
        return out
    if sort:
        sorted_logits, idx = out.sort(dim=-1, descending=True)
    else:
        sorted_logits, idx = out, torch.arange(out.size(-1)).expand_as(out)
    probs = sorted_logits.softmax(-1)
    cum = probs.cumsum(-1)
    sorted_remove = (cum - probs >= p) if crossing_kept else (cum > p)
    sorted_remove[..., 0] = False
    remove = torch.zeros_like(sorted_remove).scatter(-1, idx, sorted_remove)
    return out.masked_fill(remove, NEG)


def reference(logits, top_k, top_p):
    return _top_p(_top_k(logits.clone(), top_k), top_p)


def mistakes(logits, top_k, top_p):
    x = logits.clone()
    return {
        "top-p 把越过阈值的那个 token 也删掉了（累计概率刚好越过 top_p 的 token 要保留）": lambda: _top_p(
            _top_k(x, top_k), top_p, crossing_kept=False
        ),
        "top-p 没有先按概率从大到小排序就累加": lambda: _top_p(_top_k(x, top_k), top_p, sort=False),
        "顺序不对：应先 top-k，再在 top-k 之后的分布上做 top-p": lambda: _top_k(_top_p(x, top_p), top_k),
        "top-k 少保留了一个（第 k 大的那个也要保留：用 < 而不是 <=）": lambda: _top_p(
            x.masked_fill(x <= torch.topk(x, min(top_k, x.size(-1)), -1).values[..., -1:], NEG) if top_k > 0 else x,
            top_p,
        ),
        "被过滤的位置应为 -inf（不是 0）": lambda: reference(x, top_k, top_p).nan_to_num(neginf=0.0),
    }


def check(fn, logits, top_k, top_p):
    before = logits.clone()
    got = fn(logits, top_k=top_k, top_p=top_p)
    expect_unchanged(before, logits, what="logits")
    expected = reference(before, top_k, top_p)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point():
        g = got.detach().to(torch.float64)
        if bool((g >= 0).all()) and torch.allclose(g.sum(-1), torch.ones(g.shape[0], dtype=g.dtype), atol=1e-3):
            raise CheckFailure("保留的位置应原样返回 logits，被过滤的为 -inf（看起来返回的是概率）")
    expect_tensor(got, expected, what="过滤结果", mistakes=mistakes(before, top_k, top_p))


def case(seed, B, V, top_k, top_p, scale=2.0, dtype=torch.float32):
    def run(fn):
        check(fn, tensor(B, V, seed=seed, dtype=dtype, scale=scale), top_k, top_p)

    return Case(f"seed={seed}, B={B}, V={V}, top_k={top_k}, top_p={top_p}, {str(dtype)[6:]}", run)


def worked_example(fn):
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))
    check(fn, logits, 0, 0.7)
    check(fn, logits, 3, 0.9)


CASES = [
    Case("题目中的例子（概率 0.5/0.3/0.15/0.05）", worked_example),
    case(0, 2, 10, 0, 0.9),
    case(1, 3, 50, 5, 1.0),
    case(2, 4, 30, 10, 0.8),
    case(3, 2, 20, 0, 0.5, dtype=torch.float64),
    case(4, 1, 8, 1, 1.0),
    case(5, 2, 16, 100, 0.95),
    case(6, 2, 12, 0, 0.01),
    case(7, 3, 25, 0, 1.0),
    case(8, 2, 40, 7, 0.3, scale=4.0),
]
