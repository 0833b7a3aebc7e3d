"""Hidden tests for the SwiGLU feed-forward layer, against nn.Linear layers with the same weights."""

import torch
import torch.nn.functional as F
from codelab_diagnose import Case, expect_tensor, tensor


def reference(x, w_gate, w_up, w_down):
    d, h = x.shape[-1], w_gate.shape[0]
    gate, up, down = (torch.nn.Linear(i, o, bias=False, dtype=x.dtype) for i, o in ((d, h), (d, h), (h, d)))
    with torch.no_grad():
        for layer, w in ((gate, w_gate), (up, w_up), (down, w_down)):
            layer.weight.copy_(w)
        return down(F.silu(gate(x)) * up(x))


def mistakes(x, w_gate, w_up, w_down):
    return {
        "激活函数用错了：SwiGLU 用 SiLU（z·σ(z)），这里是 GELU": lambda: (
            (F.gelu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T
        ),
        "激活函数用错了：SwiGLU 用 SiLU（z·σ(z)），这里是 ReLU（那是 ReGLU）": lambda: (
            (F.relu(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T
        ),
        "SiLU 加在了 up 分支上（应只加在 gate 分支）": lambda: ((x @ w_gate.T) * F.silu(x @ w_up.T)) @ w_down.T,
        "两个分支都过了 SiLU（up 分支不过激活）": lambda: (F.silu(x @ w_gate.T) * F.silu(x @ w_up.T)) @ w_down.T,
        "用 sigmoid 做门（那是原始 GLU），SwiGLU 的门是 SiLU": lambda: (
            (torch.sigmoid(x @ w_gate.T) * (x @ w_up.T)) @ w_down.T
        ),
        "没有门控：只有 SiLU(x W_gate) 经过 W_down（少了与 up 分支的逐元素相乘）": lambda: (
            F.silu(x @ w_gate.T) @ w_down.T
        ),
        "SiLU 加在了两个分支的乘积上：应先 SiLU(x W_gate)，再与 x W_up 逐元素相乘": lambda: (
            F.silu((x @ w_gate.T) * (x @ w_up.T)) @ w_down.T
        ),
        "两个分支相加了：门控是逐元素相乘（SiLU(x W_gate) ⊙ x W_up）": lambda: (
            (F.silu(x @ w_gate.T) + x @ w_up.T) @ w_down.T
        ),
    }


def case(seed, shape, h, dtype, atol=None):
    def run(fn):
        d = shape[-1]
        x = tensor(*shape, seed=seed, dtype=dtype)
        w_gate = tensor(h, d, seed=seed + 1, dtype=dtype, scale=d**-0.5)
        w_up = tensor(h, d, seed=seed + 2, dtype=dtype, scale=d**-0.5)
        w_down = tensor(d, h, seed=seed + 3, dtype=dtype, scale=h**-0.5)
        got = fn(x, w_gate, w_up, w_down)
        expect_tensor(got, reference(x, w_gate, w_up, w_down), atol=atol, mistakes=mistakes(x, w_gate, w_up, w_down))

    return Case(f"seed={seed}, x={shape}, h={h}, {str(dtype)[6:]}", run)


CASES = [
    case(0, (2, 5, 8), 16, torch.float64),
    case(1, (3, 12), 32, torch.float64),
    case(2, (2, 4, 16), 40, torch.float32, atol=1e-5),
    case(3, (1, 1, 4), 8, torch.float64),
    case(4, (6, 24), 64, torch.float64),
    case(5, (2, 8), 16, torch.bfloat16, atol=6e-2),
]
