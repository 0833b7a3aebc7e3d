import torch.nn.functional as F


def swiglu_ffn(x, w_gate, w_up, w_down):
    return F.silu((x @ w_gate.T) * (x @ w_up.T)) @ w_down.T  # SiLU 加在了乘积上
