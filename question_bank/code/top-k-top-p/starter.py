import torch


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    # 1. top-k：每行只保留最大的 top_k 个 logit，其余置 -inf
    # 2. top-p：在 top-k 之后的分布上，按概率降序累加，去掉“前面的概率和已 >= top_p”的 token
    # 3. 返回新张量，保留的位置是原 logit
    raise NotImplementedError
