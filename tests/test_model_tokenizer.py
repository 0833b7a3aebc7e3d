"""Character tokenizer: coverage of Chinese/ASCII/CJK punctuation, <unk>, control characters, length limit."""

from __future__ import annotations

import contextlib

import pytest

from model.tokenizer import BOS, COPY, EOS, MAX_LEN, PAD, REVERSE, SPECIAL_TOKENS, UNK, CharTokenizer, build_vocabulary

TOK = CharTokenizer.default()


def gb2312_level1() -> list[str]:
    """The 3,755 level-1 characters, enumerated here independently of the tokenizer."""
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):
                chars.append(bytes([hi, lo]).decode("gb2312"))
    return chars


def test_vocabulary_covers_gb2312_level1_ascii_and_cjk_punctuation() -> None:
    level1 = gb2312_level1()
    assert len(level1) == 3755
    assert all(TOK.char_id(ch) != UNK for ch in level1)
    assert all(TOK.char_id(chr(c)) != UNK for c in range(0x20, 0x7F))
    assert all(TOK.char_id(ch) != UNK for ch in "，。、；：？！“”‘’（）《》【】—…·「」『』～")
    assert len(set(TOK.vocab)) == TOK.vocab_size  # no duplicates
    assert TOK.vocab[: len(SPECIAL_TOKENS)] == SPECIAL_TOKENS
    assert build_vocabulary() == list(TOK.vocab)  # deterministic


def test_encode_decode_round_trip_mixed_text() -> None:
    text = "注意力 Attention 是 all you need! 第3章：d_k=64。"
    ids = TOK.encode(text)
    assert len(ids) == len(text)
    assert TOK.decode(ids) == text


def test_source_layout_is_task_token_characters_eos() -> None:
    assert TOK.encode_source("ab", "copy") == [COPY, TOK.char_id("a"), TOK.char_id("b"), EOS]
    assert TOK.encode_source("ab", "reverse")[0] == REVERSE
    with pytest.raises(ValueError, match="unknown task 'sort'"):
        TOK.encode_source("ab", "sort")


def test_out_of_vocabulary_characters_become_explicit_unk() -> None:
    tokens = TOK.tokens("a😀龘b")  # emoji and a rare (non-level-1) character
    assert [t["unk"] for t in tokens] == [False, True, True, False]
    assert tokens[1] == {"text": "😀", "id": UNK, "unk": True, "special": False}
    assert TOK.decode(TOK.encode("a😀b")) == "a\ufffdb"


def test_control_characters_are_dropped_not_fatal() -> None:
    assert TOK.encode("a\tb\nc\x00d\u200b") == TOK.encode("abcd")
    with pytest.raises(ValueError, match="empty"):
        TOK.encode("\n\t")


def test_length_limit_is_enforced_with_a_message_naming_it() -> None:
    assert len(TOK.encode("字" * MAX_LEN)) == MAX_LEN
    with pytest.raises(ValueError, match=f"maximum is MAX_LEN = {MAX_LEN} characters"):
        TOK.encode("字" * (MAX_LEN + 1))
    with pytest.raises(ValueError, match="empty"):
        TOK.encode("")


def test_decode_stops_at_eos_and_skips_specials() -> None:
    ids = [BOS, TOK.char_id("好"), UNK, PAD, EOS, TOK.char_id("x")]
    assert TOK.decode(ids) == "好\ufffd"


def test_specials_are_flagged() -> None:
    info = TOK.source_tokens("好", "reverse")
    assert [t["text"] for t in info] == ["<reverse>", "好", "<eos>"]
    assert [t["special"] for t in info] == [True, False, True]
