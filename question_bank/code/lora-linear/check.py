"""Hidden tests for the LoRA linear layer: frozen base, B = 0 at start, forward with set A/B, merge == forward."""

import torch
from codelab_diagnose import Case, CheckFailure, expect_tensor, fmt_shape, tensor
from torch import nn


def build(cls, seed, d_in, d_out, r, alpha, bias, dtype):
    torch.manual_seed(seed)
    base = nn.Linear(d_in, d_out, bias=bias, dtype=dtype)
    before = {k: v.detach().clone() for k, v in base.state_dict().items()}
    layer = cls(base, r=r, alpha=alpha)
    for name, shape in (("lora_A", (r, d_in)), ("lora_B", (d_out, r))):
        p = getattr(layer, name, None)
        if not isinstance(p, nn.Parameter):
            raise CheckFailure(f"self.{name} 应是 nn.Parameter，得到 {type(p).__name__}")
        if tuple(p.shape) != shape:
            raise CheckFailure(f"self.{name} 的形状不对：期望 {fmt_shape(shape)}，得到 {fmt_shape(p.shape)}")
    return base, before, layer


def set_random_lora(layer, seed):
    with torch.no_grad():
        layer.lora_A.copy_(tensor(*layer.lora_A.shape, seed=seed, dtype=layer.lora_A.dtype, scale=0.5))
        layer.lora_B.copy_(tensor(*layer.lora_B.shape, seed=seed + 1, dtype=layer.lora_B.dtype, scale=0.5))


def lora_ref(base, A, B, x, scaling):
    with torch.no_grad():
        return base(x) + scaling * (x @ A.T @ B.T)


def freezing_and_init(fn_cls):
    base, _, layer = build(fn_cls, 0, 12, 6, 4, 8.0, True, torch.float64)
    if any(p.requires_grad for p in base.parameters()):
        raise CheckFailure("底座权重没有冻结：base 的 weight/bias 应 requires_grad=False")
    if not (layer.lora_A.requires_grad and layer.lora_B.requires_grad):
        raise CheckFailure("lora_A 和 lora_B 应可训练（requires_grad=True）")
    if bool((layer.lora_B != 0).any()):
        raise CheckFailure("lora_B 应初始化为 0：这样刚包上时 LoRA 分支输出 0，模型行为不变")
    if bool((layer.lora_A == 0).all()):
        raise CheckFailure("lora_A 不应全为 0（A 和 B 都是 0 时梯度也全是 0，永远学不动）")


def initial_identity(fn_cls):
    base, _, layer = build(fn_cls, 1, 10, 7, 2, 4.0, True, torch.float64)
    x = tensor(3, 10, seed=11, dtype=torch.float64)
    with torch.no_grad():
        expected = base(x)
    expect_tensor(layer(x), expected, what="刚包上时的输出（应与原层相同）")


def forward_case(seed, shape, d_out, r, alpha, bias, dtype, atol=None):
    def run(fn_cls):
        base, _, layer = build(fn_cls, seed, shape[-1], d_out, r, alpha, bias, dtype)
        set_random_lora(layer, seed + 5)
        x = tensor(*shape, seed=seed + 7, dtype=dtype)
        A, B = layer.lora_A.detach(), layer.lora_B.detach()
        mistakes = {
            "缩放应为 alpha / r（这里乘的是 alpha）": lambda: lora_ref(base, A, B, x, alpha),
            "忘了缩放 alpha / r": lambda: lora_ref(base, A, B, x, 1.0),
            "缩放写成了 r / alpha（应为 alpha / r）": lambda: lora_ref(base, A, B, x, r / alpha),
        }
        expect_tensor(layer(x), lora_ref(base, A, B, x, alpha / r), atol=atol, what="forward 输出", mistakes=mistakes)

    return Case(
        f"forward：seed={seed}, x={shape}, out={d_out}, r={r}, alpha={alpha:g}, bias={bias}, {str(dtype)[6:]}", run
    )


def merge_case(seed, d, r, alpha, bias):
    def run(fn_cls):
        base, before, layer = build(fn_cls, seed, d, d, r, alpha, bias, torch.float64)
        set_random_lora(layer, seed + 3)
        x = tensor(4, d, seed=seed + 9, dtype=torch.float64)
        merged = layer.merge()
        if not isinstance(merged, nn.Linear):
            raise CheckFailure(f"merge() 应返回 nn.Linear，得到 {type(merged).__name__}")
        if (merged.bias is None) != (base.bias is None):
            raise CheckFailure("合并后的层偏置应与原层一致（原层有 bias 就保留，没有就没有）")
        for k, v in base.state_dict().items():
            if not torch.equal(v, before[k]):
                raise CheckFailure("merge() 原地修改了 base 的权重：应返回一个新的 nn.Linear")
        A, B = layer.lora_A.detach(), layer.lora_B.detach()
        with torch.no_grad():
            got = merged(x)
            transposed = x @ (base.weight + alpha / r * (B @ A).T).T + (base.bias if bias else 0)
        expect_tensor(
            got,
            lora_ref(base, A, B, x, alpha / r),
            what="合并后的输出（应等于 forward）",
            mistakes={
                "合并时 ΔW 转置了：ΔW = scaling · B @ A，形状 (out, in)，与 base.weight 相同": transposed,
                "合并时忘了乘 scaling（alpha / r）：W' = W + (alpha / r) · B @ A": lora_ref(base, A, B, x, 1.0),
            },
        )

    return Case(f"merge：seed={seed}, d={d}, r={r}, alpha={alpha:g}, bias={bias}", run)


def gradients_only_to_lora(fn_cls):
    base, _, layer = build(fn_cls, 4, 8, 5, 2, 2.0, True, torch.float64)
    set_random_lora(layer, 40)
    layer(tensor(6, 8, seed=41, dtype=torch.float64)).pow(2).sum().backward()
    if base.weight.grad is not None:
        raise CheckFailure("底座权重收到了梯度：base 应冻结，只训练 lora_A / lora_B")
    if layer.lora_A.grad is None or layer.lora_B.grad is None:
        raise CheckFailure("lora_A / lora_B 没有收到梯度：forward 里要用到它们（不要在 no_grad 下计算）")


CASES = [
    Case("冻结底座、A 随机、B 为 0", freezing_and_init),
    Case("刚包上时输出与原层相同", initial_identity),
    forward_case(0, (5, 12), 6, 4, 8.0, True, torch.float64),
    forward_case(1, (2, 3, 16), 16, 2, 16.0, False, torch.float64),
    forward_case(2, (4, 8), 10, 8, 8.0, True, torch.float32, atol=1e-5),
    forward_case(3, (1, 6), 6, 1, 1.0, True, torch.float64),
    merge_case(5, 8, 4, 8.0, True),
    merge_case(6, 12, 2, 4.0, False),
    Case("梯度只流向 lora_A 和 lora_B", gradients_only_to_lora),
]
