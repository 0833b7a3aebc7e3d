"""Command line: ``python -m model predict --task {copy,reverse} TEXT...`` (stdin, one per line, without TEXT)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from .tokenizer import TASKS


def _predict(texts: Iterable[str], task: str) -> int:
    import torch

    from .checkpoint import load_model
    from .decoding import predict

    torch.set_num_threads(2)
    try:
        loaded = load_model()
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    status = 0
    for number, text in enumerate(texts, start=1):
        try:
            print(predict(loaded, text, task), flush=True)
        except ValueError as exc:
            print(f"error: input {number}: {exc}", file=sys.stderr, flush=True)
            status = 1
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model", description="The bundled Transformer (copy / reverse).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="print the model's output for each input (one per line)")
    p.add_argument("--task", choices=TASKS, required=True)
    p.add_argument("texts", nargs="*", metavar="TEXT", help="inputs; read from stdin (one per line) when omitted")
    args = parser.parse_args(argv)
    if args.texts:
        texts: Iterable[str] = args.texts
    else:
        texts = (line.rstrip("\r\n") for line in sys.stdin)
    return _predict(texts, args.task)


if __name__ == "__main__":
    raise SystemExit(main())
