import torch


def swiglu_ffn(x, w_gate, w_up, w_down):
    return (torch.relu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T  # ReGLU，不是 SwiGLU
