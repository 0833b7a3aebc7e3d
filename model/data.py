"""Training and held-out data for the copy / reverse tasks.

Random character strings teach the positional skill on the whole vocabulary; real sentences from
the question bank and study notes (whatever exists when training starts) add natural text with
repeated characters, spaces and mixed scripts. Sentences are split into train / held-out by a
hash of their text, so a held-out sentence is never trained on.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .tokenizer import EOS, MAX_LEN, SPECIAL_TOKENS, TASK_TOKENS, UNK, CharTokenizer, clean_text

REPO_ROOT = Path(__file__).resolve().parent.parent
BANK_DIR = REPO_ROOT / "question_bank"
HELDOUT_FRACTION = 5  # one sentence in five (by hash) is held out
HELDOUT_MIN, HELDOUT_MAX = 5, 48  # held-out sentence lengths, in characters

# Always available, so training and evaluation work even before the question bank exists.
BUILTIN_SENTENCES = """
注意力就是你所需要的
Transformer 由编码器和解码器两部分组成。
编码器把输入序列映射为一串上下文相关的向量表示。
解码器以编码器的输出为记忆，自回归地逐个生成词元。
自注意力让每个位置都能直接看到序列中的所有其他位置。
缩放点积注意力先计算查询和键的点积，再除以根号 d_k。
除以根号 d_k 是为了让点积的方差保持在 1 附近。
softmax 之后每一行的注意力权重之和等于 1。
多头注意力把模型维度切分成若干个子空间并行计算。
每个头学到的关注模式往往各不相同。
位置编码使用不同频率的正弦和余弦函数。
没有位置编码，自注意力对输入顺序是置换不变的。
逐位置前馈网络对每个位置独立地做两次线性变换。
残差连接缓解了深层网络中的梯度消失问题。
层归一化在每个样本的特征维度上做归一化。
现在的大模型大多采用 Pre-Norm 结构，训练更稳定。
解码器的掩码自注意力保证当前位置看不到未来的词元。
交叉注意力的查询来自解码器，键和值来自编码器。
训练时使用 teacher forcing，推理时逐步生成。
KV Cache 保存已经计算过的键和值，避免重复计算。
自注意力的计算复杂度是序列长度的平方。
原始论文中 d_model 等于 512，注意力头数为 8。
前馈网络的中间维度通常是模型维度的四倍。
标签平滑可以防止模型对预测过于自信。
学习率先线性预热，再按步数的平方根倒数衰减。
词元嵌入要乘以根号 d_model 再加上位置编码。
填充位置在注意力中会被屏蔽，权重严格为零。
BERT 只使用编码器，GPT 只使用解码器。
相对位置编码和旋转位置编码 RoPE 都能更好地外推。
Flash Attention 通过分块计算减少显存读写。
面试时先讲直觉，再讲公式，最后讲细节。
复习时要亲手推导一遍注意力的公式。
今天天气很好，我们一起去公园散步吧。
他每天早上七点起床，然后去图书馆看书。
这个问题的答案其实比想象中简单。
请把这句话原样复制一遍。
把这段文字倒过来写会是什么样子？
一二三四五六七八九十
Attention is all you need.
The encoder maps an input sequence to continuous representations.
The decoder generates the output one token at a time.
Scaled dot-product attention divides the scores by the square root of d_k.
Multi-head attention runs several attention functions in parallel.
Positional encodings use sine and cosine functions of different frequencies.
Residual connections help gradients flow through deep networks.
Layer normalization is applied to every position independently.
The causal mask stops a position from attending to later positions.
Cross-attention lets the decoder look at the encoder output.
A KV cache stores the keys and values of earlier steps.
Self-attention costs grow quadratically with the sequence length.
The base model uses d_model = 512 and 8 heads.
Label smoothing of 0.1 hurts perplexity but improves BLEU.
Warm-up for 4000 steps, then decay with the inverse square root.
Dropout is applied to the output of each sub-layer.
BERT is an encoder-only model; GPT is decoder-only.
Rotary position embeddings rotate queries and keys by the position.
Explain the intuition first, then the math, then the details.
Copy this sentence exactly as it is written.
What does this sentence look like when it is reversed?
The quick brown fox jumps over the lazy dog.
She sells sea shells by the sea shore, 3 times a day!
In 2017, Vaswani et al. introduced the Transformer.
Q, K and V are linear projections of the same input X.
softmax(QK^T / sqrt(d_k)) V 是注意力的核心公式。
Transformer 的核心是 self-attention 机制。
Encoder 有 6 层，Decoder 也有 6 层。
LayerNorm 和 BatchNorm 的区别在于归一化的维度。
用 Python 和 PyTorch 实现一个简单的 Transformer。
GPT-3 有 1750 亿个参数，使用 decoder-only 结构。
训练时 batch size 为 256，学习率是 3e-4。
在 2017 年，Google 发表了 Attention Is All You Need。
多头注意力的输出要经过 W_O 投影回 d_model 维。
Pre-Norm 把 LayerNorm 放在子层之前，Post-Norm 放在之后。
RoPE 被 LLaMA 等模型广泛采用。
BPE 和 WordPiece 是常见的子词切分方法。
mask 的作用是把不该看的位置设为 -inf。
Beam search 每一步保留 k 个最优的候选序列。
ViT 把图像切成 16x16 的 patch 再输入 Transformer。
第 3 章讲的是 Multi-Head Attention 的实现细节。
我的邮箱是 test@example.com，欢迎联系！
价格是 99.9 元，打八折后是 79.92 元。
""".strip().splitlines()

_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+|\n")
_MARKDOWN_NOISE = re.compile(r"(\*\*|__|`|^#+\s*|^>\s*|^[-*+]\s+|^\d+\.\s+|\|)", re.MULTILINE)


def _strings(node) -> list[str]:
    """Every string value inside a parsed YAML document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def split_sentences(text: str) -> list[str]:
    """Markdown/plain text -> sentences with markup removed (display math and code blocks dropped)."""
    text = re.sub(r"```.*?```", "\n", text, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", "\n", text, flags=re.DOTALL)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) -> label
    text = _MARKDOWN_NOISE.sub("", text)
    out = []
    for piece in _SENTENCE_END.split(text):
        sentence = re.sub(r"\s+", " ", clean_text(piece.replace("\n", " "))).strip()
        if sentence:
            out.append(sentence)
    return out


def bank_texts(bank_dir: Path = BANK_DIR) -> list[str]:
    """Raw texts of the question bank (YAML string values) and notes (Markdown); unreadable files are skipped."""
    texts: list[str] = []
    for path in sorted(bank_dir.glob("*.yaml")):
        try:
            texts += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
    for path in sorted((bank_dir / "notes").glob("*.md")):
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
    return texts


def is_heldout(sentence: str) -> bool:
    return int(hashlib.sha256(sentence.encode("utf-8")).hexdigest(), 16) % HELDOUT_FRACTION == 0


def script_of(sentence: str) -> str:
    """'zh', 'en' or 'mixed', by whether the sentence has CJK characters and/or Latin letters."""
    has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in sentence)
    has_latin = any(ch.isascii() and ch.isalpha() for ch in sentence)
    if has_cjk and has_latin:
        return "mixed"
    return "zh" if has_cjk else "en"


@dataclass
class Corpus:
    """Deduplicated sentences (1..MAX_LEN characters, fully in vocabulary), split by hash."""

    train: list[str]
    heldout: list[str]
    sources: dict

    def to_dict(self) -> dict:
        return {"train": self.train, "heldout": self.heldout, "sources": self.sources}

    @classmethod
    def from_dict(cls, data: dict) -> Corpus:
        return cls(train=list(data["train"]), heldout=list(data["heldout"]), sources=dict(data.get("sources", {})))

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def build_corpus(tokenizer: CharTokenizer, bank_dir: Path = BANK_DIR) -> Corpus:
    """Collect sentences from the built-in list plus whatever the question bank holds right now."""
    bank = bank_texts(bank_dir)
    candidates = list(BUILTIN_SENTENCES) + [s for t in bank for s in split_sentences(t)]
    sentences = sorted(
        {s for s in candidates if 1 <= len(s) <= MAX_LEN and all(tokenizer.char_id(ch) != UNK for ch in s)}
    )
    heldout = [s for s in sentences if is_heldout(s) and HELDOUT_MIN <= len(s) <= HELDOUT_MAX]
    # a training sentence that contains a held-out one would leak it through random crops
    train = [s for s in sentences if not is_heldout(s) and not any(h in s for h in heldout)]
    sources = {
        "builtin_sentences": len(BUILTIN_SENTENCES),
        "bank_files": len(list(bank_dir.glob("*.yaml"))) + len(list((bank_dir / "notes").glob("*.md"))),
        "sentences": len(sentences),
    }
    return Corpus(train=train, heldout=heldout, sources=sources)


def heldout_set(corpus: Corpus, per_script: int = 80, seed: int = 0) -> list[str]:
    """A fixed, length-balanced evaluation list: up to ``per_script`` zh, en and mixed sentences each."""
    rng = random.Random(seed)
    chosen: list[str] = []
    for script in ("zh", "en", "mixed"):
        pool = sorted(s for s in corpus.heldout if script_of(s) == script)
        rng.shuffle(pool)
        # keep the longest ones in: sort the shuffled pool so long sentences are not crowded out
        longest = sorted(pool, key=len, reverse=True)[: per_script // 4]
        rest = [s for s in pool if s not in longest][: per_script - len(longest)]
        chosen += sorted(longest + rest, key=lambda s: (len(s), s))
    return chosen


class TaskSampler:
    """Draws (source ids, target ids) pairs for copy / reverse; fully determined by its seed."""

    def __init__(self, tokenizer: CharTokenizer, train_sentences: list[str], seed: int) -> None:
        self.rng = random.Random(seed)
        n_special = len(SPECIAL_TOKENS)
        vocab = tokenizer.vocab
        self.all_ids = list(range(n_special, len(vocab)))
        self.cjk_ids = [i for i in self.all_ids if "\u4e00" <= vocab[i] <= "\u9fff"]
        self.ascii_ids = [i for i in self.all_ids if vocab[i].isascii()]
        self.sentences = [tokenizer.encode(s) for s in train_sentences]
        # character frequencies of real text: random strings with natural repeats (的, spaces, e)
        counts: dict[int, int] = {}
        for ids in self.sentences:
            for i in ids:
                counts[i] = counts.get(i, 0) + 1
        self.freq_ids = sorted(counts)
        self.freq_weights = [counts[i] for i in self.freq_ids]

    def _random_chars(self, n: int) -> list[int]:
        rng = self.rng
        mode = rng.random()
        if mode < 0.30:
            return rng.choices(self.cjk_ids, k=n)
        if mode < 0.50:
            return rng.choices(self.ascii_ids, k=n)
        if mode < 0.75:  # mixed runs of Chinese and ASCII, like "用 PyTorch 实现"
            out: list[int] = []
            while len(out) < n:
                pool = self.cjk_ids if rng.random() < 0.5 else self.ascii_ids
                out += rng.choices(pool, k=rng.randint(1, 6))
            return out[:n]
        if mode < 0.90 and self.freq_ids:
            return rng.choices(self.freq_ids, weights=self.freq_weights, k=n)
        return rng.choices(self.all_ids, k=n)  # whole vocabulary: full-width forms, Greek, symbols

    def sample_chars(self, n: int) -> list[int]:
        """``n`` character ids: a real training sentence (cropped) 25% of the time, else random."""
        rng = self.rng
        if self.sentences and rng.random() < 0.25:
            fitting = [s for s in (rng.choice(self.sentences) for _ in range(8)) if len(s) >= n]
            if fitting:
                s = fitting[0]
                start = rng.randint(0, len(s) - n)
                return s[start : start + n]
        chars = self._random_chars(n)
        if rng.random() < 0.05:  # now and then an <unk>, so the model learns to copy it too
            chars[rng.randrange(n)] = UNK
        return chars

    def batch(
        self, max_len: int, batch_tokens: int, long_fraction: float = 0.0
    ) -> tuple[list[list[int]], list[list[int]]]:
        """A batch of similar lengths (little padding): sources ``<task> c… <eos>``, targets ``c'… <eos>``.

        The longest string length is uniform in 1..max_len, except that a `long_fraction` of batches use
        max_len itself: reversing 60 characters is much harder than 20, and uniform sampling starves it.
        """
        rng = self.rng
        top = max_len if rng.random() < long_fraction else rng.randint(1, max_len)
        low = max(1, (3 * top) // 4)
        size = max(8, min(256, batch_tokens // top))
        sources, targets = [], []
        for _ in range(size):
            chars = self.sample_chars(rng.randint(low, top))
            task = "copy" if rng.random() < 0.5 else "reverse"
            out = chars if task == "copy" else chars[::-1]
            sources.append([TASK_TOKENS[task], *chars, EOS])
            targets.append([*out, EOS])
        return sources, targets
