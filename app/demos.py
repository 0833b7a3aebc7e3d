"""Registry of live demo slugs that questions and notes link to (pages live under /visualize/{slug})."""

from __future__ import annotations

from dataclasses import dataclass

# Bounds of the visualizer's inputs, here (not in app/services/visualize/) so the routes can declare them
# without importing torch at start-up.
RAW_TEXT_MAX = 512  # characters accepted per text field before cleaning; the model's own limit is MAX_LEN
PE_MAX_LENGTH = 512  # positions in the positional-encoding API
PE_MAX_D_MODEL = 1024  # width in the positional-encoding API


@dataclass(frozen=True)
class Demo:
    slug: str
    title: str
    summary: str
    # Questions the view also illustrates, besides those whose bank `demo` field names it.
    also: tuple[str, ...] = ()


DEMOS: dict[str, Demo] = {
    d.slug: d
    for d in [
        Demo(
            "attention",
            "注意力热力图 Attention heatmaps",
            "编码器自注意力、解码器掩码自注意力与交叉注意力，逐层逐头查看",
            also=("q03", "q07", "q09", "q10"),
        ),
        Demo("model-view", "全模型视图 Model view", "所有层 × 所有头的缩略图，一眼看出各个头学到的模式", also=("q05",)),
        Demo("line-view", "连线视图 Head view", "BertViz 风格：两列词元，连线透明度即注意力权重", also=("q03", "q05")),
        Demo(
            "step-by-step",
            "逐步计算 Step by step",
            "X+PE → Q, K, V → QKᵀ → ÷√d_k → + mask → softmax → ×V，真实数值",
            also=("q03", "q08", "q10", "q20", "q21"),
        ),
        Demo(
            "scaling",
            "缩放反事实 Why ÷√d_k",
            "同一行有无缩放的 softmax 对比，以及 q·k 方差随 d_k 增长的实测",
            also=("q04",),
        ),
        Demo(
            "masks",
            "掩码 Masks",
            "因果掩码与一个 batch 上的 padding mask，以及“softmax 之后再掩码”的错误做法",
            also=("q09", "q22"),
        ),
        Demo(
            "positional-encoding",
            "位置编码 Positional encoding",
            "正弦位置编码矩阵、各维曲线与 PE(p)·PE(q) 相似度",
            also=("q06", "q12"),
        ),
        Demo(
            "cross-attention",
            "交叉注意力 Cross-attention",
            "复制任务的对角线、反转任务的反对角线，并为每个头打分",
            also=("q07", "q10"),
        ),
        Demo(
            "kv-cache",
            "KV Cache 逐步解码",
            "一次解码一个词元，看缓存的 K/V 逐行增长，并实测有无缓存的耗时",
            also=("q14",),
        ),
    ]
}


def demo_url(slug: str) -> str:
    return f"/visualize/{slug}"
