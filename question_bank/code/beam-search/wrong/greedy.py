def beam_search(step_log_probs, bos, eos, beam_size, max_len):
    tokens, score = [bos], 0.0
    while len(tokens) < max_len:
        lp = step_log_probs(tokens)
        v = int(lp.argmax())
        tokens, score = tokens + [v], score + lp[v].item()
        if v == eos:
            break
    return tokens, score
