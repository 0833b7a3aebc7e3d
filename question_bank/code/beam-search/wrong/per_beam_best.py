def beam_search(step_log_probs, bos, eos, beam_size, max_len):
    alive = [([bos], 0.0)]
    finished = []
    while alive and len(alive[0][0]) < max_len:
        candidates = []
        for tokens, score in alive:
            lp = step_log_probs(tokens)
            v = int(lp.argmax())
            candidates.append((tokens + [v], score + lp[v].item()))
        if len(alive) == 1 and len(alive[0][0]) == 1:  # 第一步展开 beam_size 个
            lp = step_log_probs([bos])
            top = lp.topk(min(beam_size, lp.shape[-1]))
            candidates = [([bos, int(i)], float(s)) for s, i in zip(top.values, top.indices)]
        candidates.sort(key=lambda c: c[1], reverse=True)
        alive = []
        for tokens, score in candidates[:beam_size]:
            (finished if tokens[-1] == eos else alive).append((tokens, score))
    return max(finished + alive, key=lambda c: c[1])
