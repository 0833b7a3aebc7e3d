"""The drill export file: its records and the domain rules an import checks before anything is written.

A file (see `drill_transfer` for export and import) is refused with `ImportProblem` / ValueError naming the
record and field, Chinese first with the English detail. What is checked:

- every field's type, with no unknown keys (numbers are finite; booleans are not numbers);
- FSRS ranges: state 1–3 with a step that fits it, 0 < stability ≤ 36 500 days, difficulty 1–10,
  rating 1–4, fails ≤ reps ≤ 200 000, duration 0–24 h;
- dates carry a timezone (stored as UTC) and lie between 2000-01-01 and now + 1 day (`due` up to
  now + 100 years), with due ≥ last_review;
- the log is one chain per question, as the app writes it: a question's first review has no
  `card_before`; every later one starts from the previous one's `card_after`; each `card_after` counts one
  more rep (and one more fail for Again) and was reviewed at `reviewed_at`; each card equals its newest
  `card_after`; no review without a card, no card without its reviews, no duplicate card or token.

So anything accepted leaves every page working, and its export imports again unchanged.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fsrs import Card, State
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from app import scheduler as sched
from app.cards import MAX_CARDS, MAX_FSRS_NUMBER, TrackName, is_card_id
from app.services import drill

EXPORT_FORMAT = "transformer-prep/drill-export"
EXPORT_VERSION = 1
MAX_REVIEWS = 200_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SLACK = timedelta(days=1)  # a review "now" on a machine whose clock runs a little ahead
MAX_DUE_AHEAD = timedelta(days=36_525)  # 100 years: FSRS's longest interval plus room
# FSRS's maximum interval. Easy on every review from 2000 until today reaches ~30 000 days, so the app's own
# reviews stay below it, while a crafted 10⁹ would overflow the date arithmetic of the pages.
MAX_STABILITY_DAYS = 36_500.0
_SCHEDULER = sched.make_scheduler()
LEARNING, REVIEW, RELEARNING = State.Learning.value, State.Review.value, State.Relearning.value
STEPS = {LEARNING: len(_SCHEDULER.learning_steps), RELEARNING: len(_SCHEDULER.relearning_steps)}
# What the app stores about a card, in a snapshot and on the card row alike (`capped` is the snapshot's own).
CARD_FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "fails")

_RECORDS_ZH = {"cards": "张卡片", "reviews": "条复习记录"}
_LISTS_ZH = {"cards": "卡片列表 cards", "reviews": "复习记录列表 reviews", "settings": "设置 settings"}
_REASONS_ZH = {
    "missing": "缺少这一项",
    "extra_forbidden": "是未知字段（导出文件里没有这一项）",
    "int_type": "必须是整数",
    "bool_type": "必须是 true 或 false",
    "string_type": "必须是字符串",
    "model_type": "必须是 JSON 对象",
    "model_attributes_type": "必须是 JSON 对象",
    "dict_type": "必须是 JSON 对象",
    "list_type": "必须是 JSON 数组",
    "greater_than": "超出允许范围",
    "greater_than_equal": "超出允许范围",
    "less_than": "超出允许范围",
    "less_than_equal": "超出允许范围",
    "too_long": "条目太多",
    "literal_error": "不是允许的取值",
}

_BOUNDS_ZH = {"gt": " >", "ge": " ≥", "lt": " <", "le": " ≤", "max_length": "最多"}


class ImportProblem(ValueError):
    """A refused import: `zh` and `en` say what is wrong; `where` is the path of the record and field."""

    def __init__(self, zh: str, en: str, where: tuple[str | int, ...] = ()) -> None:
        self.zh, self.en, self.where = zh, en, where
        super().__init__(f"{zh} ({en})")


def echo_safe(text: str, limit: int = 80) -> str:
    """Text safe to echo: cut short, lone surrogates (legal in JSON, unwritable as UTF-8) escaped."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _shown(value: object) -> str:
    """A bad value for a message: its repr cut short, never a whole object, array or megabyte string."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        return echo_safe(repr(value), 40)
    except ValueError:  # an integer too long to print
        return "a very long number"


# ---------------------------------------------------------------- field types


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImportProblem("必须是数字", f"must be a number, got {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ImportProblem("必须是有限的数字", f"must be a finite number, got {_shown(value)}")
    return number


def _moment(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ImportProblem(
            "必须是带时区的 ISO 8601 时间字符串", f"must be an ISO 8601 datetime string, got {_shown(value)}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ImportProblem("不是有效的 ISO 8601 时间", f"not an ISO 8601 datetime: {_shown(value)}") from None
    if moment.tzinfo is None:
        raise ImportProblem(
            "必须带时区（例如 +00:00）", f"must carry a timezone offset such as +00:00, got {_shown(value)}"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ImportProblem("时间超出范围", f"datetime out of range: {_shown(value)}") from None


def _now(info: ValidationInfo) -> datetime:
    context = info.context or {}
    return context["now"] if "now" in context else datetime.now(UTC)  # parse_export passes it in UTC


def _between(moment: datetime, low: datetime, high: datetime, high_zh: str, high_en: str) -> datetime:
    if not low <= moment <= high:
        raise ImportProblem(
            f"必须在 2000-01-01 到{high_zh}（{high:%Y-%m-%d %H:%M} UTC）之间",
            f"must be between {low.isoformat()} and {high_en} ({high.isoformat(timespec='seconds')}), "
            f"got {moment.isoformat()}",
        )
    return moment


def _observed(moment: datetime, info: ValidationInfo) -> datetime:
    """A moment that has happened: a review, a last review, the export itself."""
    return _between(moment, EARLIEST, _now(info) + CLOCK_SLACK, "现在 + 1 天", "now + 1 day")


def _scheduled(moment: datetime, info: ValidationInfo) -> datetime:
    return _between(moment, EARLIEST, _now(info) + MAX_DUE_AHEAD, "现在 + 100 年", "now + 100 years")


def _iso_date(value: object) -> object:
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) > 10:
        raise ImportProblem(
            "必须是 YYYY-MM-DD 日期或 null", f"must be an ISO date (YYYY-MM-DD) or null, got {_shown(value)}"
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ImportProblem("不是有效日期（YYYY-MM-DD）", f"not an ISO date (YYYY-MM-DD): {_shown(value)}") from None


def _question_id(value: object) -> str:
    if not is_card_id(value):
        raise ImportProblem(
            "不是题库里的题目或练习编号（q01 … q60、c01 …）",
            f"unknown question_id {_shown(value)}; expected q01 … q60 or a code exercise card c01 …",
        )
    return value


def _token(value: object) -> object:
    if value is not None and not (
        isinstance(value, str) and 1 <= len(value) <= 80 and value.isascii() and value.isprintable()
    ):
        raise ImportProblem(
            "必须是 1–80 个可打印 ASCII 字符或 null",
            f"must be 1–80 printable ASCII characters or null, got {_shown(value)}",
        )
    return value


Whole = Annotated[int, Strict()]
Number = Annotated[float, BeforeValidator(_number)]
Observed = Annotated[datetime, BeforeValidator(_moment), AfterValidator(_observed)]
Scheduled = Annotated[datetime, BeforeValidator(_moment), AfterValidator(_scheduled)]
QuestionId = Annotated[str, BeforeValidator(_question_id)]
ReviewToken = Annotated[str | None, BeforeValidator(_token)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


# ---------------------------------------------------------------- records


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SettingsIn(_Strict):
    desired_retention: Number = Field(ge=sched.MIN_DESIRED_RETENTION, le=sched.MAX_DESIRED_RETENTION)
    new_per_day: Whole = Field(ge=0, le=drill.MAX_NEW_PER_DAY)
    interview_date: IsoDate | None = Field(ge=drill.MIN_INTERVIEW_DATE, le=drill.MAX_INTERVIEW_DATE)
    # Exports before the modern track have no `tracks` (every track is then scheduled).
    tracks: list[TrackName] | None = Field(default=None, min_length=1, max_length=3)


class _CardState(_Strict):
    """A reviewed card as the app stores it (every stored card has been reviewed at least once)."""

    state: Whole = Field(ge=1, le=3)
    step: Whole | None = Field(ge=0)
    stability: Number = Field(gt=0, le=MAX_STABILITY_DAYS)
    difficulty: Number = Field(ge=1, le=10)
    due: Scheduled
    last_review: Observed
    reps: Whole = Field(ge=1, le=MAX_REVIEWS)
    fails: Whole = Field(ge=0, le=MAX_REVIEWS)

    @model_validator(mode="after")
    def _consistent_card(self) -> _CardState:
        state = self.state  # an int: enum lookups cost more than the rest of the check, 60 000 times a file
        if self.fails > self.reps:
            raise ImportProblem(
                f"Again 次数 {self.fails} 不能大于复习次数 reps={self.reps}",
                f"fails={self.fails} exceeds reps={self.reps}",
                ("fails",),
            )
        if state == REVIEW and self.step is not None:
            raise ImportProblem(
                "复习状态（state 2）的卡片没有 step，应为 null",
                f"a review card (state 2) has no learning step; step must be null, got {self.step}",
                ("step",),
            )
        if state != REVIEW and (self.step is None or self.step >= STEPS[state]):
            steps = "0" if STEPS[state] == 1 else f"0 到 {STEPS[state] - 1}"
            steps_en = "step 0" if STEPS[state] == 1 else f"a step from 0 to {STEPS[state] - 1}"
            raise ImportProblem(
                f"{sched.STATE_NAMES[state]} 状态（state {state}）的 step 必须是 {steps}",
                f"a {sched.STATE_NAMES[state]} card (state {state}) needs {steps_en}, got {self.step}",
                ("step",),
            )
        if self.due < self.last_review:
            raise ImportProblem(
                "到期时间不能早于 last_review（上次复习时间）",
                f"due {self.due.isoformat()} is before last_review {self.last_review.isoformat()}",
                ("due",),
            )
        return self

    def fsrs_card(self, card_id: int) -> Card:
        return Card(
            card_id=card_id,
            state=State(self.state),
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=self.due,
            last_review=self.last_review,
        )


class SnapshotIn(_CardState):
    """A card as the review log keeps it (`card_before` / `card_after`): fsrs's card plus our counters."""

    card_id: Whole = Field(ge=1, le=MAX_FSRS_NUMBER)
    capped: Annotated[bool, Strict()] = False

    def to_json(self) -> str:
        """As the app writes it (`drill._snapshot`), datetimes in UTC."""
        return json.dumps(
            {
                **self.fsrs_card(self.card_id).to_dict(),
                "reps": self.reps,
                "fails": self.fails,
                "capped": self.capped,
            },
            sort_keys=True,
        )


class CardIn(_CardState):
    question_id: QuestionId

    @model_validator(mode="after")
    def _schedulable(self) -> CardIn:
        # A safety net over the checks above: the very calls the pages make (grade preview, retrievability)
        # must work on the card, otherwise an accepted file would break /drill and /stats afterwards.
        card = self.fsrs_card(sched.card_number(self.question_id))
        try:
            sched.preview(card=card, now=card.due)
            sched.retrievability(card, at=card.due)
        except Exception as exc:  # fsrs signals an inconsistent card with assertions and type errors
            raise ImportProblem(
                f"{self.question_id} 不是一张一致的 FSRS 卡片",
                f"{self.question_id} is not a consistent FSRS card (state={self.state}, step={self.step}, "
                f"stability={self.stability}, difficulty={self.difficulty}): {type(exc).__name__}",
            ) from None
        return self


class ReviewIn(_Strict):
    question_id: QuestionId
    rating: Whole = Field(ge=1, le=4)
    reviewed_at: Observed
    duration_ms: Whole | None = Field(ge=0, le=drill.MAX_DURATION_MS)
    source: Literal["drill", "mock", "code"]
    review_token: ReviewToken
    state_before: Whole = Field(ge=0, le=3)
    state_after: Whole = Field(ge=1, le=3)
    card_before: SnapshotIn | None
    card_after: SnapshotIn

    @model_validator(mode="after")
    def _one_review(self) -> ReviewIn:
        """The two snapshots are this review of this card: same card, one more rep, made at reviewed_at."""
        number = sched.card_number(self.question_id)
        before, after = self.card_before, self.card_after
        for name, snap in (("card_before", before), ("card_after", after)):
            if snap is not None and snap.card_id != number:
                raise ImportProblem(
                    f"应为 {number}（{self.question_id} 的卡片编号）",
                    f"must be {number} for {self.question_id}, got {snap.card_id}",
                    (name, "card_id"),
                )
        if (before is None) != (self.state_before == sched.NEW_STATE):
            raise ImportProblem(
                "应为 0（新卡）当且仅当 card_before 为 null",
                f"state_before is 0 (new) exactly when card_before is null; got state_before={self.state_before} "
                f"with card_before {'null' if before is None else 'present'}",
                ("state_before",),
            )
        if before is not None and before.state != self.state_before:
            raise ImportProblem(
                "与 card_before.state 不一致",
                f"state_before={self.state_before} but card_before.state={before.state}",
                ("state_before",),
            )
        if after.state != self.state_after:
            raise ImportProblem(
                "与 card_after.state 不一致",
                f"state_after={self.state_after} but card_after.state={after.state}",
                ("state_after",),
            )
        if after.last_review != self.reviewed_at:
            raise ImportProblem(
                "必须等于 reviewed_at（这次复习的时间）",
                f"card_after.last_review {after.last_review.isoformat()} is not reviewed_at "
                f"{self.reviewed_at.isoformat()}",
                ("card_after", "last_review"),
            )
        reps = (before.reps if before else 0) + 1
        fails = (before.fails if before else 0) + (self.rating == 1)
        if (after.reps, after.fails) != (reps, fails):
            raise ImportProblem(
                f"reps/fails 应为 {reps}/{fails}（比复习前多一次复习，Again 再多一次失败）",
                f"reps/fails must be {reps}/{fails} (one more rep than card_before, one more fail "
                f"for Again), got {after.reps}/{after.fails}",
                ("card_after", "reps"),
            )
        return self


class ExportFile(_Strict):
    format: Literal["transformer-prep/drill-export"]
    version: Whole
    exported_at: Observed
    settings: SettingsIn
    cards: list[CardIn] = Field(max_length=MAX_CARDS)
    reviews: list[ReviewIn] = Field(max_length=MAX_REVIEWS)


# ---------------------------------------------------------------- the log as a whole


def _differing(a: _CardState, b: _CardState) -> str | None:
    return next((name for name in CARD_FIELDS if getattr(a, name) != getattr(b, name)), None)


def _iso(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def check_log(data: ExportFile) -> None:
    """The cross-record rules (see the module docstring); ImportProblem names the first record that breaks one."""
    seen_cards: dict[str, int] = {}
    for i, card in enumerate(data.cards):
        if card.question_id in seen_cards:
            raise ImportProblem(
                f"与第 {seen_cards[card.question_id] + 1} 张卡片重复（同一道题只能有一张卡片）",
                f"duplicate question_id {card.question_id} (also cards.{seen_cards[card.question_id]})",
                ("cards", i, "question_id"),
            )
        seen_cards[card.question_id] = i
    seen_tokens: dict[str, int] = {}
    for i, review in enumerate(data.reviews):
        token = review.review_token
        if token is not None and token in seen_tokens:
            raise ImportProblem(
                f"与第 {seen_tokens[token] + 1} 条复习记录的令牌重复",
                f"duplicate review_token {_shown(token)} (also reviews.{seen_tokens[token]})",
                ("reviews", i, "review_token"),
            )
        if token is not None:
            seen_tokens[token] = i

    newest: dict[str, int] = {}  # question → index of its newest review so far
    for i, review in enumerate(data.reviews):
        qid = review.question_id
        if qid not in seen_cards:
            raise ImportProblem(
                f"{qid} 有复习记录却没有卡片", f"{qid} has reviews but no card", ("reviews", i, "question_id")
            )
        previous = newest.get(qid)
        if previous is None and review.card_before is not None:
            raise ImportProblem(
                f"这是 {qid} 的第一条复习记录，card_before 应为 null、state_before 应为 0",
                f"the first review of {qid} starts from a new card: card_before must be null and state_before 0",
                ("reviews", i, "card_before"),
            )
        if previous is not None:
            last = data.reviews[previous].card_after
            if review.card_before is None:
                raise ImportProblem(
                    f"{qid} 在第 {previous + 1} 条已复习过，card_before 不能为 null",
                    f"{qid} was reviewed before (reviews.{previous}); card_before cannot be null",
                    ("reviews", i, "card_before"),
                )
            field = _differing(review.card_before, last)
            if field is not None:
                raise ImportProblem(
                    f"card_before.{field} 与同一道题上一条复习记录（第 {previous + 1} 条）的 card_after 不一致",
                    f"card_before.{field}={_shown(_iso(getattr(review.card_before, field)))} differs from "
                    f"reviews.{previous}.card_after.{field}={_shown(_iso(getattr(last, field)))}",
                    ("reviews", i, "card_before", field),
                )
        newest[qid] = i

    per_question = Counter(r.question_id for r in data.reviews)
    for i, card in enumerate(data.cards):
        logged = per_question.get(card.question_id, 0)
        if logged != card.reps:
            raise ImportProblem(
                f"{card.question_id} 的 reps 为 {card.reps}，但日志里有 {logged} 条它的复习记录",
                f"{card.question_id} has reps={card.reps} but the log holds {logged} reviews of it",
                ("cards", i, "reps"),
            )
        index = newest[card.question_id]
        field = _differing(card, data.reviews[index].card_after)
        if field is not None:
            raise ImportProblem(
                f"与它最新的复习记录（第 {index + 1} 条）的 card_after.{field} 不一致",
                f"{card.question_id}.{field}={_shown(_iso(getattr(card, field)))} differs from its newest review's "
                f"card_after (reviews.{index}.card_after.{field}="
                f"{_shown(_iso(getattr(data.reviews[index].card_after, field)))})",
                ("cards", i, field),
            )


# ---------------------------------------------------------------- messages


def _place(where: tuple[Any, ...], raw: object) -> tuple[str, str]:
    """(Chinese, English) names of a path such as ("reviews", 12, "card_after", "due")."""
    en = ".".join(echo_safe(str(p), 40) for p in where) or "(file)"
    head, rest = (where[0], where[1:]) if where else (None, ())
    if head in _RECORDS_ZH and rest and isinstance(rest[0], int):
        index, fields = rest[0], rest[1:]
        items = raw.get(head) if isinstance(raw, dict) else None
        item = items[index] if isinstance(items, list) and 0 <= index < len(items) else None
        qid = item.get("question_id") if isinstance(item, dict) else None
        label = f"第 {index + 1} {_RECORDS_ZH[head]}" + (f"（{qid}）" if is_card_id(qid) else "")
    elif head in _LISTS_ZH:
        label, fields = _LISTS_ZH[head], rest
    else:
        label, fields = "文件", tuple(where)
    zh_fields = ".".join(echo_safe(str(p), 40) for p in fields)
    return (f"{label}的 {zh_fields}" if zh_fields else label), en


def _explain(item: dict, raw: object) -> tuple[str, str]:
    where = tuple(item["loc"])
    error = (item.get("ctx") or {}).get("error")
    if isinstance(error, ImportProblem):
        zh_where, en_where = _place(where + error.where, raw)
        return f"{zh_where}：{error.zh}", f"{en_where}: {error.en}"
    zh_where, en_where = _place(where, raw)
    message = echo_safe(item["msg"].removeprefix("Value error, "), 200)
    value = item.get("input")
    if item["type"] not in ("missing", "extra_forbidden") and not isinstance(value, dict | list):
        message += f", got {_shown(value)}"
    reason = _REASONS_ZH.get(item["type"], "无效")
    bound = next(
        ((sign, v) for key, sign in _BOUNDS_ZH.items() if (v := (item.get("ctx") or {}).get(key)) is not None), None
    )
    if bound is not None:
        reason += f"（应{bound[0]} {echo_safe(str(bound[1]), 40)}）"
    return f"{zh_where}：{reason}", f"{en_where}: {message}"


def _refusal(parts: list[tuple[str, str]], more: int = 0) -> str:
    zh = "；".join(p[0] for p in parts)
    en = "; ".join(p[1] for p in parts)
    tail = f"（另有 {more} 处）" if more else ""
    return f"导入文件无效，数据未改变：{zh}{tail} (invalid export, nothing was changed: {en})"


# ---------------------------------------------------------------- the whole file


def validate_file(raw: object, *, now: datetime | None = None) -> ExportFile:
    """Check a parsed file against every rule at `now`; ValueError says exactly what is wrong and where."""
    if not isinstance(raw, dict):
        raise ValueError("导入文件顶层必须是 JSON 对象 (expected a JSON object at the top level)")
    if raw.get("format") != EXPORT_FORMAT:
        raise ValueError(f"不是 transformer-prep 的闪卡导出文件 (format must be {EXPORT_FORMAT!r})")
    version = raw.get("version")
    if type(version) is not int or version != EXPORT_VERSION:
        raise ValueError(
            f"不支持的导出文件版本 {_shown(version)}，本应用读取版本 {EXPORT_VERSION} "
            f"(unsupported export version {_shown(version)}; this app reads version {EXPORT_VERSION})"
        )
    try:
        data = ExportFile.model_validate(raw, context={"now": sched.utc(now or datetime.now(UTC))})
    except ValidationError as exc:
        errors = exc.errors()
        raise ValueError(_refusal([_explain(e, raw) for e in errors[:5]], max(0, len(errors) - 5))) from None
    try:
        check_log(data)
    except ImportProblem as exc:
        zh_where, en_where = _place(exc.where, raw)
        raise ValueError(_refusal([(f"{zh_where}：{exc.zh}", f"{en_where}: {exc.en}")])) from None
    return data
