"""The validated bank is cached between start-ups, keyed by the files and the validating code: any edit re-parses."""

from __future__ import annotations

import shutil

import pytest

from app import question_bank as qb


@pytest.fixture
def bank_copy(tmp_path):
    directory = tmp_path / "bank"
    directory.mkdir()
    for path in qb.BANK_DIR.glob("q*.yaml"):
        shutil.copy(path, directory / path.name)
    return directory


def test_a_second_start_reads_the_cache_and_an_edit_parses_again(bank_copy, tmp_path, monkeypatch) -> None:
    cache_dir = tmp_path / "cache"
    first = qb.load_bank_cached(bank_copy, cache_dir)
    assert first == qb.load_bank(bank_copy) and len(list(cache_dir.glob("bank-*.pickle"))) == 1

    parses: list[int] = []
    real = qb.load_bank
    monkeypatch.setattr(qb, "load_bank", lambda d: parses.append(1) or real(d))
    assert qb.load_bank_cached(bank_copy, cache_dir) == first and parses == []  # from the cache

    q01 = bank_copy / "q01.yaml"
    text = q01.read_text(encoding="utf-8")
    q01.write_text(text.replace("tags: [", "tags: [cached-edit, ", 1), encoding="utf-8")
    edited = qb.load_bank_cached(bank_copy, cache_dir)
    assert parses == [1] and "cached-edit" in edited["q01"].tags
    assert len(list(cache_dir.glob("bank-*.pickle"))) == 1  # the stale file is gone


def test_a_broken_file_still_stops_start_up_naming_it(bank_copy, tmp_path) -> None:
    cache_dir = tmp_path / "cache"
    qb.load_bank_cached(bank_copy, cache_dir)
    (bank_copy / "q02.yaml").write_text("id: q02\nquestion: [unclosed\n", encoding="utf-8")
    with pytest.raises(qb.QuestionBankError, match="q02.yaml"):
        qb.load_bank_cached(bank_copy, cache_dir)


def test_a_cache_that_cannot_be_written_is_skipped(bank_copy, tmp_path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache directory would go")
    assert qb.load_bank_cached(bank_copy, blocked) == qb.load_bank(bank_copy)
