"""Train the bundled Transformer on copy / reverse and write the shipped checkpoint.

    python -m model.train                          # fresh corpus from question_bank/, writes model/
    python -m model.train --corpus model/corpus.json   # reproduce the shipped weights from the recorded corpus

Budget is a fixed number of steps (not wall time), so a run is reproducible: same seed, same
corpus, same thread count -> the same weights.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .checkpoint import MODEL_DIR, save_checkpoint
from .data import Corpus, TaskSampler, build_corpus, heldout_set
from .evaluate import alignment_hits, exact_matches
from .tokenizer import BOS, MAX_LEN, PAD, TASKS, CharTokenizer
from .transformer import ModelConfig, Transformer

README_PATH = MODEL_DIR / "README.md"
LOG_PATH = MODEL_DIR / "training_log.json"
CURVE_PATH = MODEL_DIR / "training_curve.svg"
CORPUS_PATH = MODEL_DIR / "corpus.json"


@dataclass
class TrainConfig:
    """Optimisation settings; the model shape lives in ModelConfig."""

    seed: int = 20170612  # the paper's arXiv date
    steps: int = 6000  # optimizer steps: the budget (bounded by steps, not wall time)
    batch_tokens: int = 2048  # characters per batch; batch size = batch_tokens // length (8..256)
    lr: float = 1e-3  # peak Adam learning rate
    warmup_steps: int = 200  # linear warm-up, then cosine decay to min_lr_ratio * lr
    min_lr_ratio: float = 0.02
    betas: tuple[float, float] = (0.9, 0.98)  # paper: β1 = 0.9, β2 = 0.98, ε = 1e-9
    eps: float = 1e-9
    grad_clip: float = 1.0
    curriculum_start: int = 8  # max string length at step 0 ...
    curriculum_end: int = MAX_LEN  # ... grows linearly to this ...
    curriculum_fraction: float = 0.25  # ... over this fraction of the steps
    long_batch_fraction: float = 0.25  # share of batches at the current maximum length (long inputs are hardest)
    eval_every: int = 250  # held-out exact match every this many steps
    eval_texts: int = 60  # size of the held-out subset used during training
    threads: int = 2


def learning_rate(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def curriculum_max_len(step: int, cfg: TrainConfig) -> int:
    ramp = max(1, int(cfg.steps * cfg.curriculum_fraction))
    frac = min(1.0, step / ramp)
    return round(cfg.curriculum_start + frac * (cfg.curriculum_end - cfg.curriculum_start))


def pad_rows(rows: list[list[int]], prefix: list[int] | None = None) -> torch.Tensor:
    prefix = prefix or []
    width = max(len(r) for r in rows) + len(prefix)
    return torch.tensor([prefix + r + [PAD] * (width - len(r) - len(prefix)) for r in rows], dtype=torch.long)


def train(cfg: TrainConfig, model_cfg: ModelConfig, corpus: Corpus, out_dir: Path = MODEL_DIR) -> dict:
    """Run the training loop; returns the log (rows of step, loss, held-out exact match)."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    tokenizer = CharTokenizer.default()
    model = Transformer(model_cfg)
    sampler = TaskSampler(tokenizer, corpus.train, cfg.seed)
    eval_texts = heldout_set(corpus)
    eval_texts = eval_texts[:: max(1, len(eval_texts) // cfg.eval_texts)][: cfg.eval_texts]
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)
    rows: list[dict] = []
    start = time.perf_counter()
    running, running_n = 0.0, 0
    bar = tqdm(range(cfg.steps), desc="train", unit="step", mininterval=5.0)
    for step in bar:
        model.train()
        max_len = curriculum_max_len(step, cfg)
        sources, targets = sampler.batch(max_len, cfg.batch_tokens, long_fraction=cfg.long_batch_fraction)
        src = pad_rows(sources)  # (B, S)
        tgt_out = pad_rows(targets)  # (B, T): c'1 … c'n <eos>
        tgt_in = pad_rows([t[:-1] for t in targets], prefix=[BOS])  # (B, T): <bos> c'1 … c'n
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        logits = model(src, tgt_in)  # (B, T, vocab)
        loss = loss_fn(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        running += loss.item()
        running_n += 1
        last = step == cfg.steps - 1
        if (step + 1) % cfg.eval_every == 0 or last:
            model.eval()
            row = {
                "step": step + 1,
                "minutes": round((time.perf_counter() - start) / 60, 2),
                "loss": round(running / running_n, 4),
                "lr": round(learning_rate(step, cfg), 6),
                "max_len": max_len,
            }
            for task in TASKS:
                matches = exact_matches(model, tokenizer, eval_texts, task)
                row[f"{task}_exact_match"] = round(sum(matches) / len(matches), 4)
                hits, total = alignment_hits(model, tokenizer, eval_texts, task)
                row[f"{task}_alignment"] = round(hits / total, 4)
            rows.append(row)
            running, running_n = 0.0, 0
            tqdm.write(json.dumps(row))
            bar.set_postfix(loss=row["loss"], copy=row["copy_exact_match"], rev=row["reverse_exact_match"])
    minutes = (time.perf_counter() - start) / 60
    model.eval()
    meta = {
        "train_config": asdict(cfg),
        "corpus_digest": corpus.digest(),
        "corpus_sources": corpus.sources,
        "parameters": model.num_parameters(),
        "training_minutes": round(minutes, 1),
        "torch": torch.__version__,
    }
    save_checkpoint(model, tokenizer, out_dir / "transformer", meta)
    return {"meta": meta, "rows": rows}


# ----------------------------------------------------------------------------------------------
# Reporting: a small SVG chart and the README section, both generated from the log
# ----------------------------------------------------------------------------------------------


def training_curve_svg(rows: list[dict], width: int = 640, height: int = 300) -> str:
    """Loss (log scale, left axis) and held-out exact match (right axis) against steps, as plain SVG."""
    left, right, top, bottom = 56, 56, 24, 40
    pw, ph = width - left - right, height - top - bottom
    max_step = max(r["step"] for r in rows)
    losses = [max(r["loss"], 1e-4) for r in rows]
    lo, hi = math.log10(min(losses)), math.log10(max(losses))
    if hi - lo < 1e-6:
        hi = lo + 1

    def x(step: float) -> float:
        return left + pw * step / max_step

    def y_loss(v: float) -> float:
        return top + ph * (hi - math.log10(max(v, 1e-4))) / (hi - lo)

    def y_acc(v: float) -> float:
        return top + ph * (1 - v)

    def path(points: list[tuple[float, float]]) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(points))

    series = [
        (path([(x(r["step"]), y_loss(r["loss"])) for r in rows]), "#6b7280", "", "loss (log, left)"),
        (path([(x(r["step"]), y_acc(r["copy_exact_match"])) for r in rows]), "#2563eb", "", "copy EM"),
        (path([(x(r["step"]), y_acc(r["reverse_exact_match"])) for r in rows]), "#dc2626", "", "reverse EM"),
        (path([(x(r["step"]), y_acc(r["copy_alignment"])) for r in rows]), "#2563eb", "4 3", "copy align"),
        (path([(x(r["step"]), y_acc(r["reverse_alignment"])) for r in rows]), "#dc2626", "4 3", "reverse align"),
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#d1d5db"/>',
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        yy = y_acc(frac)
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#f3f4f6"/>')
        parts.append(f'<text x="{left + pw + 4}" y="{yy + 4:.1f}">{frac:.0%}</text>')
    for k in range(int(math.floor(lo)), int(math.ceil(hi)) + 1):
        if lo <= k <= hi:
            parts.append(f'<text x="{left - 4}" y="{y_loss(10**k) + 4:.1f}" text-anchor="end">1e{k}</text>')
    for k in range(5):
        s = max_step * k / 4
        parts.append(f'<text x="{x(s):.1f}" y="{top + ph + 16}" text-anchor="middle">{int(s)}</text>')
    parts.append(f'<text x="{left + pw / 2}" y="{height - 6}" text-anchor="middle">step</text>')
    for i, (d, color, dash, label) in enumerate(series):
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2"{dash_attr}/>')
        parts.append(f'<text x="{left + i * 108}" y="{top - 8}" fill="{color}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def readme_section(log: dict, model_cfg: ModelConfig) -> str:
    meta, rows = log["meta"], log["rows"]
    tc = meta["train_config"]
    lines = [
        "<!-- training:start (generated by python -m model.train; do not edit by hand) -->",
        "",
        f"Parameters: **{meta['parameters']:,}**; training took **{meta['training_minutes']} min** on this 2-core CPU "
        f"({tc['steps']} steps, torch {meta['torch']}, {tc['threads']} threads, seed {tc['seed']}).",
        f"Corpus digest `{meta['corpus_digest']}` ({meta['corpus_sources']['sentences']} sentences; "
        f"{meta['corpus_sources']['bank_files']} question-bank/notes files + "
        f"{meta['corpus_sources']['builtin_sentences']} built-in sentences).",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    for key in (
        "d_model",
        "n_heads",
        "d_ff",
        "n_encoder_layers",
        "n_decoder_layers",
        "norm_first",
        "share_embeddings",
        "tie_output",
        "dropout",
        "vocab_size",
    ):
        lines.append(f"| `{key}` | {getattr(model_cfg, key)} |")
    for key in (
        "steps",
        "batch_tokens",
        "lr",
        "warmup_steps",
        "min_lr_ratio",
        "betas",
        "grad_clip",
        "curriculum_start",
        "curriculum_end",
        "curriculum_fraction",
        "long_batch_fraction",
    ):
        lines.append(f"| `{key}` | {tc.get(key, 0.0)} |")
    lines += [
        "",
        "Training curve: mean loss since the previous row; held-out exact match (greedy decoding) and",
        "cross-attention alignment (last decoder layer, head average) on a 60-sentence held-out subset:",
        "",
        "![training curve](training_curve.svg)",
        "",
        "| step | minutes | max length | loss | copy EM | reverse EM | copy align | reverse align |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['step']} | {r['minutes']} | {r['max_len']} | {r['loss']:.4f} | "
            f"{r['copy_exact_match']:.1%} | {r['reverse_exact_match']:.1%} | "
            f"{r['copy_alignment']:.1%} | {r['reverse_alignment']:.1%} |"
        )
    lines += ["", "<!-- training:end -->"]
    return "\n".join(lines)


def update_readme(section: str, path: Path = README_PATH) -> None:
    """Replace the generated block between the training markers (or append it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = text.find("<!-- training:start"), text.find("<!-- training:end -->")
    if start != -1 and end != -1:
        text = text[:start] + section + text[end + len("<!-- training:end -->") :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=None, help="use a recorded corpus.json instead of question_bank/"
    )
    parser.add_argument("--steps", type=int, default=None, help="override the number of steps")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="output directory (default: model/)")
    args = parser.parse_args(argv)
    cfg = TrainConfig()
    if args.steps is not None:
        cfg.steps = args.steps
    tokenizer = CharTokenizer.default()
    if args.corpus is not None:
        corpus = Corpus.from_dict(json.loads(args.corpus.read_text(encoding="utf-8")))
    else:
        corpus = build_corpus(tokenizer)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "corpus.json").write_text(
        json.dumps(corpus.to_dict(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
    )
    print(f"corpus: {len(corpus.train)} training sentences, {len(corpus.heldout)} held out ({corpus.digest()})")
    model_cfg = ModelConfig(vocab_size=tokenizer.vocab_size)
    log = train(cfg, model_cfg, corpus, out)
    (out / "training_log.json").write_text(json.dumps(log, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "training_curve.svg").write_text(training_curve_svg(log["rows"]), encoding="utf-8")
    if out.resolve() == MODEL_DIR:
        update_readme(readme_section(log, model_cfg))
    print(f"wrote {out / 'transformer.safetensors'} ({log['meta']['training_minutes']} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
