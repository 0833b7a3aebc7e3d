"""Hidden tests for beam search on small deterministic scorers, against a reference that follows the stated rules."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_equal, expect_scalar


def make_scorer(seed, vocab, eos, eos_bias=0.0, temperature=1.5, min_len=3):
    """Log-probs that depend only on the prefix (a fixed random table per prefix), in float64; eos is unlikely
    before `min_len` tokens, so the best sequence is not simply the shortest."""

    def step_log_probs(prefix):
        h = seed
        for t in prefix:
            h = (h * 1_000_003 + int(t) + 1) % 2_147_483_647
        gen = torch.Generator().manual_seed(h)
        logits = torch.randn(vocab, generator=gen, dtype=torch.float64) * temperature
        logits[eos] += eos_bias - (6.0 if len(prefix) < min_len else 0.0)
        return torch.log_softmax(logits, dim=-1)

    return step_log_probs


def search(
    scorer,
    bos,
    eos,
    beam_size,
    max_len,
    *,
    per_beam=None,
    accumulate=True,
    stop_at_eos=True,
    keep_finished=True,
    lowest=False,
    length_norm=False,
    extra_len=0,
):
    alive, finished = [([bos], 0.0)], []
    while alive and len(alive[0][0]) < max_len + extra_len:
        candidates = []
        for tokens, score in alive:
            lp = scorer(tokens)
            options = [(tokens + [v], (score if accumulate else 0.0) + lp[v].item()) for v in range(lp.shape[-1])]
            if per_beam and len(tokens) > 1:  # the first step has one beam: it expands to beam_size either way
                options = sorted(options, key=lambda c: c[1], reverse=True)[:per_beam]
            candidates += options
        candidates.sort(key=lambda c: c[1], reverse=not lowest)
        alive = []
        for tokens, score in candidates[:beam_size]:
            (finished if stop_at_eos and tokens[-1] == eos else alive).append((tokens, score))
    pool = finished + alive if keep_finished else (alive or finished)
    if length_norm:  # the learner's variant: the final pick divides by the number of generated tokens
        return max(pool, key=lambda c: c[1] / max(len(c[0]) - 1, 1))
    return max(pool, key=lambda c: c[1])


def variants(scorer, bos, eos, beam_size, max_len):
    def v(**kw):
        return lambda: search(scorer, bos, eos, beam_size, max_len, **kw)

    return {
        "做了长度归一化（分数除以了长度）：本题的分数就是 log 概率之和，不做长度归一化": v(length_norm=True),
        "排序方向反了：取了分数最低的 beam_size 个（sort 要 reverse=True）": v(lowest=True),
        "长度上限多走了一步：候选长度（含 bos）达到 max_len 就停止（while len(tokens) < max_len）": v(extra_len=1),
        "退化成了贪心解码（每步只保留了 1 个候选，没用上 beam_size）": lambda: search(scorer, bos, eos, 1, max_len),
        "分数没有累加（只用了最后一步的 log 概率）": v(accumulate=False),
        "每个 beam 只扩展了它自己最好的一个 token（应把所有扩展放在一起取全局 top beam_size）": v(per_beam=1),
        "遇到 eos 后还在继续扩展（以 eos 结尾的候选应移入已完成）": v(stop_at_eos=False),
        "忘了已完成（以 eos 结尾）的候选：最终应在已完成和仍在扩展的候选里一起比较": v(keep_finished=False),
    }


def check(fn, scorer, bos, eos, beam_size, max_len):
    expected = search(scorer, bos, eos, beam_size, max_len)
    got = fn(scorer, bos=bos, eos=eos, beam_size=beam_size, max_len=max_len)
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise CheckFailure(f"应返回 (tokens, score) 二元组，得到 {type(got).__name__}")
    tokens, score = got
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.tolist()
    found = variants(scorer, bos, eos, beam_size, max_len)
    if isinstance(score, (int, float)) and score > 0 and expected[1] < 0:
        raise CheckFailure(
            f"分数是 {score:.6g} > 0：序列分数应是各步 log 概率之和（≤ 0），看起来你把概率连乘了（或取了 exp）"
        )
    expect_equal(
        list(tokens), expected[0], what="最优序列", mistakes={k: (lambda f=f: f()[0]) for k, f in found.items()}
    )
    expect_scalar(
        score,
        expected[1],
        atol=1e-9,
        what="最优序列的分数",
        mistakes={k: (lambda f=f: f()[1]) for k, f in found.items()},
    )


def case(seed, vocab, beam_size, max_len, eos_bias=0.0, bos=0, eos=1):
    def run(fn):
        check(fn, make_scorer(seed, vocab, eos, eos_bias), bos, eos, beam_size, max_len)

    return Case(f"seed={seed}, V={vocab}, beam_size={beam_size}, max_len={max_len}, eos 偏置={eos_bias:g}", run)


CASES = [
    case(0, 5, 3, 6),
    case(1, 6, 2, 5, eos_bias=1.0),
    case(2, 4, 4, 7, eos_bias=0.5),
    case(3, 5, 1, 6),
    case(4, 3, 8, 5),
    case(5, 7, 3, 4, eos_bias=-1.0),
    case(6, 5, 3, 2),
    case(7, 5, 3, 1),
    case(11, 6, 3, 8, eos_bias=0.8),
]
