"""Hidden tests for top-k then top-p (nucleus) filtering of logits; removed tokens are -inf, kept ones unchanged."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor, expect_unchanged, tensor

NEG = float("-inf")


def _top_k(out, k):
    if k <= 0:
        return out
    kth = torch.topk(out, min(k, out.size(-1)), dim=-1).values[..., -1:]
    return out.masked_fill(out < kth, NEG)


def _top_p(out, p, *, crossing_kept=True, sort=True, strict=False, gather=False):
    if p >= 1.0:
        return out
    if sort:
        sorted_logits, idx = out.sort(dim=-1, descending=True)
    else:
        sorted_logits, idx = out, torch.arange(out.size(-1)).expand_as(out)
    probs = sorted_logits.softmax(-1)
    cum = probs.cumsum(-1)
    before = cum - probs
    sorted_remove = ((before > p) if strict else (before >= p)) if crossing_kept else (cum > p)
    sorted_remove[..., 0] = False
    if gather:  # the learner's slip: gather reads sorted positions, it does not put them back
        remove = sorted_remove.gather(-1, idx)
    else:
        remove = torch.zeros_like(sorted_remove).scatter(-1, idx, sorted_remove)
    return out.masked_fill(remove, NEG)


def reference(logits, top_k, top_p):
    return _top_p(_top_k(logits.clone(), top_k), top_p)


def mistakes(logits, top_k, top_p):
    x = logits.clone()
    crossing = "top-p 把越过阈值的那个 token 也删掉了（累计概率刚好越过 top_p 的 token 要保留）"
    only_max = _top_k(x, 1)
    if top_k == 0 and torch.equal(_top_p(x, top_p, crossing_kept=False), only_max):  # both read as "kept the top 1"
        crossing += "；或者把 top_k=0 当成了 top-1（top_k=0 表示不做 top-k 过滤）"
    found = {
        crossing: lambda: _top_p(_top_k(x, top_k), top_p, crossing_kept=False),
        "top-p 没有先按概率从大到小排序就累加": lambda: _top_p(_top_k(x, top_k), top_p, sort=False),
        "顺序不对：应先 top-k，再在 top-k 之后的分布上做 top-p": lambda: _top_k(_top_p(x, top_p), top_k),
        "top-k 少保留了一个（第 k 大的那个也要保留：用 < 而不是 <=）": lambda: _top_p(
            x.masked_fill(x <= torch.topk(x, min(top_k, x.size(-1)), -1).values[..., -1:], NEG) if top_k > 0 else x,
            top_p,
        ),
        "被过滤的位置应为 -inf（不是 0）": lambda: reference(x, top_k, top_p).nan_to_num(neginf=0.0),
        "边界用了 >：排在前面的概率之和恰好等于 top_p 时，这个 token 也要去掉（≥ top_p）": lambda: _top_p(
            _top_k(x, top_k), top_p, strict=True
        ),
        "排序后的“去掉”标记没有放回原位置：用 gather 读的是排序后的下标，应 scatter(-1, idx, sorted_remove)": lambda: (
            _top_p(_top_k(x, top_k), top_p, gather=True)
        ),
    }
    if top_k == 0:
        found["top_k=0 被当成了 top-1（top_k=0 表示不做 top-k 过滤）"] = lambda: _top_p(only_max, top_p)
    return found


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


def exact_boundary(fn):
    # float64 probabilities 0.5/0.25/0.125/0.125 are exact, so "the ones before sum to exactly top_p" is well defined
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.125, 0.125], [0.125, 0.125, 0.25, 0.5]], dtype=torch.float64))
    check(fn, logits, 0, 0.5)


CASES = [
    Case("题目中的例子（概率 0.5/0.3/0.15/0.05）", worked_example),
    Case("前面的概率和恰好等于 top_p（0.5 ≥ 0.5 → 只留第一个）", exact_boundary),
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
