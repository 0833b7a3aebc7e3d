"""The one grading function: what an answer claims, per key point, with the words that decided each verdict.

`check_answer(text, question)` is called by the drill reveal, the mock interview (answers and follow-ups)
and `POST /api/check`. Steps:

1. Normalise the answer (exact span mapping), split it into clauses.
2. Per key point, per concept group: the bank keywords found in the answer; a match governed by a
   negator in its clause does not count (`negation.py`). `scope: answer` (default): covered when every
   group has a counted match anywhere, partly when some do. `scope: clause` (a relation, "Q 来自
   decoder"): the first two groups must match inside one clause, further groups anywhere; covered when
   both hold, partly when some groups match, missed when the first two only appear in different clauses.
3. Misconceptions (`misconceptions.py`): a fired one caps its key points at missed.
4. Score = weighted coverage − MISCONCEPTION_PENALTY per misconception; suggested rating from the score,
   at most Hard when a misconception fired.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from app.grading.answer import AnswerText
from app.grading.keywords import compile_group
from app.grading.misconceptions import CompiledMisconception, compile_misconception, find_misconception
from app.grading.negation import NEGATOR
from app.grading.scores import (
    RATING_CAP_WITH_MISCONCEPTION,
    VERDICTS,
    Verdict,
    answer_score,
    coverage_score,
    rating_for_score,
)
from app.grading.spans import merge_spans

if TYPE_CHECKING:
    from app.question_bank import KeyPoint, Misconception, Question

RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
_MAX_WORDS_IN_REASON = 6
MAX_NEGATED_LISTED = 20  # negated matches reported per key point (a long answer may repeat one thousands of times)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class KeyPointCheck:
    """How one key point fared in one answer, and why."""

    index: int
    label: str
    weight: int
    verdict: Verdict
    spans: list[tuple[int, int]]  # merged, sorted, [start, end) into the original text: the counted matches
    matched_keywords: list[str]  # bank keywords with a counted match, in bank order
    groups_matched: int
    groups_total: int
    reason: str = ""  # Chinese-first: which words led to the verdict
    negated: list[dict[str, Any]] = field(default_factory=list)  # [{"words", "by", "span"}] matches taken back
    capped_by: list[int] = field(default_factory=list)  # misconception indexes that capped it at missed

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "weight": self.weight,
            "verdict": self.verdict,
            "spans": [[start, end] for start, end in self.spans],
            "reason": self.reason,
            "matched_keywords": list(self.matched_keywords),
            "negated": [dict(n) for n in self.negated],
            "capped_by": list(self.capped_by),
            "groups_matched": self.groups_matched,
            "groups_total": self.groups_total,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeyPointCheck:
        """Rebuild from `to_dict` output; dicts saved before reasons existed (no reason/negated/capped_by) load too."""
        verdict = data["verdict"]
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; expected one of {list(VERDICTS)}")
        return cls(
            index=int(data["index"]),
            label=str(data["label"]),
            weight=int(data["weight"]),
            verdict=verdict,
            spans=[(int(s), int(e)) for s, e in data.get("spans", [])],
            matched_keywords=[str(k) for k in data.get("matched_keywords", [])],
            groups_matched=int(data.get("groups_matched", 0)),
            groups_total=int(data.get("groups_total", 0)),
            reason=str(data.get("reason", "")),
            negated=[dict(n) for n in data.get("negated", [])],
            capped_by=[int(i) for i in data.get("capped_by", [])],
        )


# The name the rest of the app used before grading became a package.
KeyPointResult = KeyPointCheck


@dataclass(frozen=True)
class MisconceptionHit:
    """A misconception the answer states, where, and what is true instead."""

    index: int
    label: str
    correction: str
    spans: list[tuple[int, int]]  # [start, end) into the original text: the words that state the claim
    key_points: list[int]
    words: str  # the learner's words that stated it

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "label": self.label,
            "correction": self.correction,
            "spans": [[start, end] for start, end in self.spans],
            "key_points": list(self.key_points),
            "words": self.words,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MisconceptionHit:
        return cls(
            index=int(data.get("index", 0)),
            label=str(data["label"]),
            correction=str(data.get("correction", "")),
            spans=[(int(s), int(e)) for s, e in data.get("spans", [])],
            key_points=[int(i) for i in data.get("key_points", [])],
            words=str(data.get("words", "")),
        )


@dataclass(frozen=True)
class AnswerCheck:
    """The checker's judgement of one answer."""

    score: float  # 0–100: coverage minus the misconception penalty
    coverage: float  # 0–100: weighted coverage of the (capped) verdicts alone
    key_points: list[KeyPointCheck]
    misconceptions: list[MisconceptionHit]
    suggested_rating: int  # 1 Again … 4 Easy
    rating_reason: str  # Chinese-first, shown next to the suggested rating

    @property
    def verdicts(self) -> list[Verdict]:
        return [kp.verdict for kp in self.key_points]

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Every counted keyword match, merged: what the answer view highlights."""
        return merge_spans(span for kp in self.key_points for span in kp.spans)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "coverage": self.coverage,
            "key_points": [kp.to_dict() for kp in self.key_points],
            "misconceptions": [m.to_dict() for m in self.misconceptions],
            "suggested_rating": self.suggested_rating,
            "rating_reason": self.rating_reason,
        }


# ---------------------------------------------------------------- compiled bank


@dataclass(frozen=True)
class _CompiledKeyPoint:
    label: str
    weight: int
    scope: str
    groups: tuple[tuple[tuple[str, re.Pattern[str]], ...], ...]
    polarity: tuple[str, ...]  # per group: "positive" (default), "negative" or "any"


@dataclass(frozen=True)
class _Compiled:
    key_points: tuple[_CompiledKeyPoint, ...]
    misconceptions: tuple[CompiledMisconception, ...]


def _compile_key_point(key_point: KeyPoint) -> _CompiledKeyPoint:
    return _CompiledKeyPoint(
        label=key_point.label,
        weight=key_point.weight,
        scope=key_point.scope,
        groups=tuple(compile_group(group) for group in key_point.keywords),
        polarity=tuple(key_point.polarity.get(i, "positive") for i in range(len(key_point.keywords))),
    )


# Compiled once per bank object: keyed by identity (bank models are frozen but hold lists, so unhashable),
# holding the object itself so an id is never reused while cached.
_CACHE: dict[int, tuple[object, _Compiled]] = {}
_CACHE_LIMIT = 256


def _compiled(
    key_points: Sequence[KeyPoint], misconceptions: Sequence[Misconception], owner: object | None
) -> _Compiled:
    """Compiled key points and misconceptions; cached per `owner` (a bank question), not for ad-hoc lists."""
    hit = _CACHE.get(id(owner)) if owner is not None else None
    if hit is not None and hit[0] is owner:
        return hit[1]
    compiled = _Compiled(
        key_points=tuple(_compile_key_point(kp) for kp in key_points),
        misconceptions=tuple(compile_misconception(i, m) for i, m in enumerate(misconceptions)),
    )
    if owner is None:
        return compiled
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[id(owner)] = (owner, compiled)
    return compiled


# ---------------------------------------------------------------- key points


def _short_list(words: Sequence[str]) -> str:
    unique = list(dict.fromkeys(w for w in words if w))
    shown = "、".join(unique[:_MAX_WORDS_IN_REASON])
    return shown + ("…" if len(unique) > _MAX_WORDS_IN_REASON else "")


def _group_name(group: Sequence[tuple[str, re.Pattern[str]]]) -> str:
    return "/".join(word for word, _ in group[:2])


@dataclass
class _GroupMatches:
    counted: list[tuple[str, tuple[int, int]]]  # (bank keyword, normalised span)
    negated: list[tuple[str, tuple[int, int], tuple[str, ...]]]  # (keyword, span, negating words)


def _group_matches(
    answer: AnswerText, group: Sequence[tuple[str, re.Pattern[str]]], own: frozenset[int], polarity: str = "positive"
) -> _GroupMatches:
    """A group's matches, counted or taken back. A "negative" group states an absence ("没法并行"): its
    match counts only when negated (or when the keyword carries its own negator); an "any" group counts
    either way; a negated match of a negative group is listed by the negator that made it count."""
    result = _GroupMatches(counted=[], negated=[])
    for word, pattern in group:
        self_negative = polarity == "negative" and NEGATOR.search(word.lower()) is not None
        for span in answer.find(pattern):
            negation = answer.negation(*span, ignore=own)
            if polarity == "any" or (negation is None) == (polarity == "positive" or self_negative):
                result.counted.append((word, span))
            elif negation is not None:
                result.negated.append((word, span, negation.words))
    return result


def _check_key_point(answer: AnswerText, index: int, kp: _CompiledKeyPoint) -> KeyPointCheck:
    # The key point's own keywords that contain a negator ("不包含", "不需要") state its claim: their
    # negators do not take back the other groups' matches ("不包含 embedding").
    own = answer.negators_inside(
        [
            span
            for group in kp.groups
            for word, pattern in group
            if NEGATOR.search(word.lower())
            for span in answer.find(pattern)
        ]
    )
    per_group = [_group_matches(answer, group, own, pol) for group, pol in zip(kp.groups, kp.polarity, strict=True)]
    total = len(kp.groups)
    negated = [
        {"words": answer.words(*span), "by": "、".join(dict.fromkeys(by)), "span": list(answer.original(*span))}
        for _, span, by in sorted((n for g in per_group for n in g.negated), key=lambda n: n[1])[:MAX_NEGATED_LISTED]
    ]
    clause_note = ""
    if kp.scope in ("clause", "sentence") and total > 1:
        # A relation: the first two groups (who, what) in ONE clause (or sentence); further groups anywhere.
        seg = answer.segmentation
        # A clause unit is a claim: a bare comparative condition joins the clause after it ("T 越大，分布越平").
        units = seg.sentences if kp.scope == "sentence" else seg.claims

        def unit_of(position: int) -> int:
            clause = seg.clause_at(position)
            return clause.sentence if kp.scope == "sentence" else seg.claim_index(clause)

        first, second = ({unit_of(s) for _, (s, _e) in g.counted} for g in per_group[:2])
        shared = first & second
        core_clause = units[min(shared)] if shared else None
        rest_hit = [bool(g.counted) for g in per_group[2:]]
        # Both sides named, but never together: the relation is not stated (often the roles are swapped).
        apart = core_clause is None and bool(first) and bool(second)
        core_hit = [core_clause is not None or (not apart and bool(side)) for side in (first, second)]
        groups_matched = sum(core_hit) + sum(rest_hit)
        if core_clause is not None and all(rest_hit):
            verdict: Verdict = "covered"
        elif not apart and (core_clause is not None or any(core_hit) or any(rest_hit)):
            verdict = "partly"
        else:
            verdict = "missed"
        counted = [
            (word, span)
            for i, g in enumerate(per_group)
            for word, span in g.counted
            if i >= 2
            or (core_clause is not None and core_clause[0] <= span[0] < core_clause[1])
            or (core_clause is None and not apart)
        ]
        if apart:
            where = "同一句话" if kp.scope == "sentence" else "同一句"
            clause_note = f"要在{where}里说清：" + " + ".join(_group_name(g) for g in kp.groups[:2])
        missing = [_group_name(group) for group, hit in zip(kp.groups[:2], core_hit, strict=True) if not hit]
        missing += [_group_name(group) for group, hit in zip(kp.groups[2:], rest_hit, strict=True) if not hit]
    else:
        groups_matched = sum(bool(g.counted) for g in per_group)
        verdict = "covered" if groups_matched == total else "partly" if groups_matched else "missed"
        counted = [(word, span) for g in per_group for word, span in g.counted]
        missing = [_group_name(group) for group, g in zip(kp.groups, per_group, strict=True) if not g.counted]
    matched_keywords = list(dict.fromkeys(word for word, _ in counted))
    reason_parts = []
    if counted:
        first = sorted({span for _, span in counted})[: 4 * _MAX_WORDS_IN_REASON]  # enough for the distinct words shown
        reason_parts.append("匹配：" + _short_list([answer.words(*span) for span in first]))
    for n in negated[:3]:
        reason_parts.append(f"‘{n['words']}’被‘{n['by']}’否定")
    if clause_note:
        reason_parts.append(clause_note)
    if missing and verdict != "covered":
        reason_parts.append("缺：" + "、".join(missing))
    if answer.blank:
        reason_parts = ["未作答"]
    return KeyPointCheck(
        index=index,
        label=kp.label,
        weight=kp.weight,
        verdict=verdict,
        spans=merge_spans(answer.original(*span) for _, span in counted),
        matched_keywords=list(dict.fromkeys(w for group in kp.groups for w, _ in group if w in matched_keywords)),
        groups_matched=groups_matched,
        groups_total=total,
        reason="；".join(reason_parts),
        negated=negated,
    )


# ---------------------------------------------------------------- the grading function


def check_key_points(
    text: str,
    key_points: Sequence[KeyPoint],
    misconceptions: Sequence[Misconception] = (),
    *,
    owner: object | None = None,
) -> AnswerCheck:
    """Grade `text` against key points and misconceptions (see the module docstring)."""
    compiled = _compiled(key_points, misconceptions, owner)
    answer = AnswerText(text)
    results = [_check_key_point(answer, i, kp) for i, kp in enumerate(compiled.key_points)]
    hits: list[MisconceptionHit] = []
    for misconception in compiled.misconceptions:
        chain = find_misconception(answer, misconception)
        if chain is None:
            continue
        start, end = chain[0][0], chain[-1][1]
        hits.append(
            MisconceptionHit(
                index=misconception.index,
                label=misconception.label,
                correction=misconception.correction,
                spans=[answer.original(start, end)],  # the whole claim, from its first group to its last
                key_points=[i for i in misconception.key_points if i < len(results)],
                words=answer.words(start, end),
            )
        )
    for hit in hits:
        for i in hit.key_points:
            kp = results[i]
            note = f"误区：{hit.label}（“{hit.words}”）→ 记为未覆盖"
            results[i] = replace(
                kp,
                verdict="missed",
                reason=f"{note}；{kp.reason}" if kp.reason else note,
                capped_by=[*kp.capped_by, hit.index],
            )
    weights = [kp.weight for kp in results]
    verdicts = [kp.verdict for kp in results]
    coverage = coverage_score(verdicts, weights)
    score = answer_score(verdicts, weights, misconceptions=len(hits))
    rating = rating_for_score(score, misconception=bool(hits))
    return AnswerCheck(
        score=score,
        coverage=coverage,
        key_points=results,
        misconceptions=hits,
        suggested_rating=rating,
        rating_reason=rating_reason(score, [h.label for h in hits]),
    )


def rating_reason(score: float, misconception_labels: Sequence[str]) -> str:
    """Why the rating is suggested, in Chinese first: the score band, or the misconception that caps it."""
    if misconception_labels:
        cap = RATING_CAP_WITH_MISCONCEPTION
        return f"检测到误区：{'；'.join(misconception_labels)}，建议最多 {RATING_NAMES[cap]}"
    rating = rating_for_score(score)
    return f"得分 {score:g}，建议 {RATING_NAMES[rating]}（≥90 Easy，≥70 Good，≥40 Hard）"


def check_answer(text: str, question: Question) -> AnswerCheck:
    """The checker's judgement of `text` as an answer to `question` (compiled once per bank question)."""
    return check_key_points(text, question.key_points, question.misconceptions, owner=question)
