"""The bank loads exactly the guide's 30 source questions and the modern track's 30, and a malformed file is named
with its field."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from app.question_bank import (
    BANK_DIR,
    CATEGORY_TRACK,
    NOTES_DIR,
    NOTES_SECTIONS,
    Category,
    QuestionBankError,
    Track,
    get_bank,
    load_bank,
)

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_24f0618a5e09a6b4.txt"


def test_the_guide_in_source_order_then_the_modern_track():
    bank = get_bank()
    assert list(bank) == [f"q{n:02d}" for n in range(1, 61)]
    assert [q.track for q in bank.values()] == [Track.guide] * 30 + [Track.modern] * 30


def test_category_counts_follow_the_source_parts_and_the_modern_track():
    counts = Counter(q.category for q in get_bank().values())
    assert counts == {
        Category.basics: 10,
        Category.depth: 9,
        Category.implementation: 4,
        Category.applications: 7,
        Category.architecture: 10,
        Category.training: 10,
        Category.inference: 10,
    }
    assert {CATEGORY_TRACK[c] for c in counts} == set(Track)


def test_modern_questions_link_their_own_notes_and_are_as_complete_as_the_guide():
    notes = {
        Category.architecture: "modern-architecture",
        Category.training: "training-alignment",
        Category.inference: "inference-serving",
    }
    for q in get_bank().values():
        if q.track is Track.modern:
            assert q.notes_section == notes[q.category], q.id
            assert 4 <= len(q.key_points) <= 7 and len(q.misconceptions) >= 2, q.id
            assert len(q.answer) >= 1500 and "**直觉**" in q.answer, q.id
            assert q.question.en and any("\u4e00" <= ch <= "\u9fff" for ch in q.question.zh), q.id


def test_every_question_is_complete():
    for q in get_bank().values():
        assert len(q.answer) >= 200, q.id
        assert 3 <= len(q.key_points) <= 7, q.id
        assert all(kp.flat_keywords for kp in q.key_points), q.id
        assert len(q.follow_ups) >= 2, q.id
        assert q.notes_section in NOTES_SECTIONS, q.id


def test_answers_keep_english_terms_and_bilingual_keywords():
    for q in get_bank().values():
        words = [w for kp in q.key_points for w in kp.flat_keywords]
        assert any(any("\u4e00" <= ch <= "\u9fff" for ch in w) for w in words), f"{q.id}: no Chinese keyword"
        assert any(w.isascii() and any(c.isalpha() for c in w) for w in words), f"{q.id}: no English keyword"


def test_code_questions_carry_code():
    bank = get_bank()
    for qid in ("q21", "q22"):
        assert "```python" in bank[qid].answer, qid


@pytest.mark.skipif(not SEED.exists(), reason="source material not beside the repository")
def test_question_text_is_the_source_list():
    source = SEED.read_text(encoding="utf-8")
    for q in (q for q in get_bank().values() if q.track is Track.guide):
        # The source line minus its hint in parentheses starts with our Chinese question text.
        head = q.question.zh.rstrip("？?。")[:12]
        assert head in source, f"{q.id}: {q.question.zh!r} not found in the source list"


def test_every_notes_section_has_a_page():
    for slug in NOTES_SECTIONS:
        text = (NOTES_DIR / f"{slug}.md").read_text(encoding="utf-8")
        assert text.startswith("# "), slug
        assert len(text) > 800, slug


@pytest.fixture
def bank_copy(tmp_path: Path) -> Path:
    for path in BANK_DIR.glob("q*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_malformed_file_names_file_and_field(bank_copy: Path):
    path = bank_copy / "q07.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("difficulty:", "difficulty: 9\nold_difficulty:", 1))
    with pytest.raises(QuestionBankError, match=r"q07\.yaml: .*field '(difficulty|old_difficulty)'"):
        load_bank(bank_copy)


def test_bad_yaml_names_the_file(bank_copy: Path):
    (bank_copy / "q03.yaml").write_text("id: q03\nanswer: [unclosed\n", encoding="utf-8")
    with pytest.raises(QuestionBankError, match=r"q03\.yaml: not valid YAML"):
        load_bank(bank_copy)


def test_missing_question_is_reported(bank_copy: Path):
    (bank_copy / "q30.yaml").unlink()
    with pytest.raises(QuestionBankError, match=r"missing question files: q30\.yaml"):
        load_bank(bank_copy)


def test_id_must_match_file_name(bank_copy: Path):
    text = (bank_copy / "q05.yaml").read_text(encoding="utf-8")
    (bank_copy / "q05.yaml").write_text(text.replace("id: q05", "id: q06", 1), encoding="utf-8")
    with pytest.raises(QuestionBankError, match=r"q05\.yaml: .*(id|category)"):
        load_bank(bank_copy)


def test_sample_verdict_count_must_match_key_points(bank_copy: Path):
    import yaml

    data = yaml.safe_load((bank_copy / "q01.yaml").read_text(encoding="utf-8"))
    data["samples"][0]["expected"] = data["samples"][0]["expected"][:-1]
    (bank_copy / "q01.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(QuestionBankError, match=r"q01\.yaml: .*samples\[0\]\.expected"):
        load_bank(bank_copy)
