def beam_search(step_log_probs, bos: int, eos: int, beam_size: int, max_len: int) -> tuple[list[int], float]:
    alive = [([bos], 0.0)]
    finished = []
    while alive and len(alive[0][0]) < max_len:
        candidates = []
        for tokens, score in alive:
            log_probs = step_log_probs(tokens)
            for v in range(log_probs.shape[-1]):
                candidates.append((tokens + [v], log_probs[v].item()))
        candidates.sort(key=lambda c: c[1], reverse=True)
        alive = []
        for tokens, score in candidates[:beam_size]:
            (finished if tokens[-1] == eos else alive).append((tokens, score))
    return max(finished + alive, key=lambda c: c[1])
