def beam_search(step_log_probs, bos, eos, beam_size, max_len):
    alive = [([bos], 0.0)]
    finished = []
    while alive and len(alive[0][0]) < max_len:
        candidates = []
        for tokens, score in alive:
            lp = step_log_probs(tokens)
            for v in range(lp.shape[-1]):
                candidates.append((tokens + [v], score + lp[v].item()))
        candidates.sort(key=lambda c: c[1])  # 忘了 reverse=True：取了分数最低的
        alive = []
        for tokens, score in candidates[:beam_size]:
            (finished if tokens[-1] == eos else alive).append((tokens, score))
    return max(finished + alive, key=lambda c: c[1])
