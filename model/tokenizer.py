"""Character-level tokenizer: one token per visible character, so every attention row is readable.

The vocabulary is enumerated offline and deterministically: special tokens, printable ASCII, the
GB2312 symbol rows (CJK punctuation, full-width forms, Greek) and the 3,755 GB2312 level-1 Chinese
characters. Anything else becomes an explicit ``<unk>`` token the app can show.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_LEN = 64  # characters per input text; the model was trained up to this length

PAD, BOS, EOS, UNK, COPY, REVERSE = range(6)
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>", "<copy>", "<reverse>")
TASK_TOKENS = {"copy": COPY, "reverse": REVERSE}
TASKS = tuple(TASK_TOKENS)
UNK_DISPLAY = "\ufffd"  # how <unk> is rendered inside decoded text (one visible character)

# Punctuation people type that GB2312 spells with a different code point (e.g. U+2014 vs U+2015).
EXTRA_CHARS = "—–·…‐’“”•"


def _gb2312_row(row: int) -> list[str]:
    """All characters of one GB2312 row (0xA1 + row - 1), in code order."""
    chars = []
    for col in range(0xA1, 0xFF):
        try:
            chars.append(bytes([0xA0 + row, col]).decode("gb2312"))
        except UnicodeDecodeError:
            continue
    return chars


def build_vocabulary() -> list[str]:
    """The full, ordered vocabulary: index = token id."""
    chars: list[str] = list(SPECIAL_TOKENS)
    chars += [chr(c) for c in range(0x20, 0x7F)]  # printable ASCII, space included
    for row in (1, 3, 6):  # 1: CJK punctuation and symbols, 3: full-width ASCII, 6: Greek
        chars += _gb2312_row(row)
    chars += list(EXTRA_CHARS)
    for row in range(16, 56):  # level-1 Chinese characters (3,755, ordered by pinyin)
        chars += _gb2312_row(row)
    seen: set[str] = set()
    vocab = []
    for ch in chars:
        if ch not in seen:
            seen.add(ch)
            vocab.append(ch)
    return vocab


def clean_text(text: str) -> str:
    """Drop control and format characters (newlines, tabs, zero-width joiners): they are invisible."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))


@dataclass(frozen=True)
class CharTokenizer:
    """Maps characters to ids and back; ``vocab`` is the id-ordered list of token strings."""

    vocab: tuple[str, ...]

    @classmethod
    def default(cls) -> CharTokenizer:
        return cls(tuple(build_vocabulary()))

    def __post_init__(self) -> None:
        if tuple(self.vocab[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"vocabulary must start with the special tokens {SPECIAL_TOKENS}")
        object.__setattr__(self, "_index", {tok: i for i, tok in enumerate(self.vocab)})

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def char_id(self, ch: str) -> int:
        """Id of one character; ``UNK`` if outside the vocabulary (special-token strings are not characters)."""
        if len(ch) != 1:
            return UNK
        return self._index.get(ch, UNK)  # type: ignore[attr-defined]

    def check_text(self, text: str) -> str:
        """Clean ``text`` and enforce 1..MAX_LEN characters; returns the cleaned text."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        cleaned = clean_text(text)
        if not cleaned:
            raise ValueError("text is empty (after removing control characters): enter at least 1 character")
        if len(cleaned) > MAX_LEN:
            raise ValueError(f"text is {len(cleaned)} characters long; the maximum is MAX_LEN = {MAX_LEN} characters")
        return cleaned

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of ``text`` (cleaned and length-checked), without task/eos tokens."""
        return [self.char_id(ch) for ch in self.check_text(text)]

    def encode_source(self, text: str, task: str) -> list[int]:
        """Encoder input: ``<task> c1 … cn <eos>``."""
        if task not in TASK_TOKENS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        return [TASK_TOKENS[task], *self.encode(text), EOS]

    def token_text(self, token_id: int) -> str:
        return self.vocab[token_id]

    def token_info(self, token_id: int, char: str | None = None) -> dict:
        """Plain description of one token; ``char`` keeps the original character of an ``<unk>``."""
        is_special = token_id < len(SPECIAL_TOKENS) and token_id != UNK
        text = self.vocab[token_id]
        if token_id == UNK and char is not None:
            text = char
        return {"text": text, "id": int(token_id), "unk": token_id == UNK, "special": bool(is_special)}

    def tokens(self, text: str) -> list[dict]:
        """One dict per visible character of ``text``: what the model sees, unknowns flagged."""
        return [self.token_info(self.char_id(ch), ch) for ch in self.check_text(text)]

    def source_tokens(self, text: str, task: str) -> list[dict]:
        ids = self.encode_source(text, task)
        chars = [None, *self.check_text(text), None]
        return [self.token_info(i, c) for i, c in zip(ids, chars, strict=True)]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of generated ids: stops at ``<eos>``, skips other specials, ``<unk>`` shown as U+FFFD."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i == UNK:
                out.append(UNK_DISPLAY)
            elif i >= len(SPECIAL_TOKENS):
                out.append(self.vocab[i])
        return "".join(out)

    def ids_to_tokens(self, ids: Sequence[int]) -> list[dict]:
        return [self.token_info(int(i)) for i in ids]
