def beam_search(step_log_probs, bos: int, eos: int, beam_size: int, max_len: int) -> tuple[list[int], float]:
    alive = [([bos], 0.0)]  # 仍在扩展的候选：(tokens, 累计 log 概率)
    finished = []  # 以 eos 结尾的候选
    # 循环：扩展所有候选 -> 全局取 top beam_size -> eos 结尾的移入 finished
    # 返回分数最高的 (tokens, score)
    raise NotImplementedError
