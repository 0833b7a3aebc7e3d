"""Export and import of a learner's drill state (settings, cards, review log) as versioned JSON.

Import is all-or-nothing: the file is validated completely (schema, question ids, datetimes with a
timezone, each card's `reps` equal to its number of logged reviews) before anything is touched, and
the replacement runs in one transaction; a bad file raises ValueError saying why and changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Literal

from fsrs import Card, State
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import scheduler as sched
from app.models import DrillCard, DrillReview, DrillSettings
from app.services import drill

EXPORT_FORMAT = "transformer-prep/drill-export"
EXPORT_VERSION = 1
# An export is ~0.7 KB per review; 64 MB is ~90 000 reviews (3 000 per question), far beyond a real
# learner, while parsing a file this size stays under a few hundred MB of memory.
MAX_IMPORT_BYTES = 64 * 1024 * 1024

QuestionId = Annotated[str, Field(pattern=r"^q(0[1-9]|[12][0-9]|30)$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SettingsIn(_Strict):
    desired_retention: float = Field(ge=sched.MIN_DESIRED_RETENTION, le=sched.MAX_DESIRED_RETENTION)
    new_per_day: int = Field(ge=0, le=drill.MAX_NEW_PER_DAY)
    interview_date: date | None = Field(le=drill.MAX_INTERVIEW_DATE, ge=drill.MIN_INTERVIEW_DATE)


class CardIn(_Strict):
    question_id: QuestionId
    state: int = Field(ge=1, le=3)
    step: int | None = Field(ge=0)
    stability: float | None = Field(gt=0)
    difficulty: float | None = Field(ge=1, le=10)
    due: AwareDatetime
    last_review: AwareDatetime | None
    reps: int = Field(ge=1)
    fails: int = Field(ge=0)

    @model_validator(mode="after")
    def _schedulable(self) -> CardIn:
        # A card must be usable by the very calls the pages make (grade preview, retrievability),
        # otherwise an accepted file would break /drill and /stats afterwards.
        card = Card(
            card_id=int(self.question_id[1:]),
            state=State(self.state),
            step=self.step,
            stability=self.stability,
            difficulty=self.difficulty,
            due=sched.utc(self.due),
            last_review=None if self.last_review is None else sched.utc(self.last_review),
        )
        try:
            sched.preview(card=card, now=card.due)
            sched.retrievability(card, at=card.due)
        except Exception as exc:  # fsrs signals an inconsistent card with assertions and type errors
            raise ValueError(
                f"{self.question_id} is not a consistent FSRS card (state={self.state}, step={self.step}, "
                f"stability={self.stability}, difficulty={self.difficulty}): {type(exc).__name__}"
            ) from None
        return self


class ReviewIn(_Strict):
    question_id: QuestionId
    rating: int = Field(ge=1, le=4)
    reviewed_at: AwareDatetime
    duration_ms: int | None = Field(ge=0, le=drill.MAX_DURATION_MS)
    source: Literal["drill", "mock"]
    review_token: str | None = Field(max_length=80)
    state_before: int = Field(ge=0, le=3)
    state_after: int = Field(ge=1, le=3)
    card_before: dict | None
    card_after: dict

    @field_validator("card_before", "card_after")
    @classmethod
    def _loads_as_card(cls, value: dict | None) -> dict | None:
        if value is None:
            return None
        try:
            card = Card.from_dict(value)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a valid FSRS card: {exc!r}") from None
        if card.due.tzinfo is None or (card.last_review is not None and card.last_review.tzinfo is None):
            raise ValueError("card due and last_review must carry a timezone")
        for key in ("reps", "fails"):
            if not isinstance(value.get(key), int) or value[key] < 0:
                raise ValueError(f"card snapshot needs a non-negative integer {key!r}")
        return value


class ExportFile(_Strict):
    format: Literal["transformer-prep/drill-export"]
    version: int
    exported_at: AwareDatetime
    settings: SettingsIn
    cards: list[CardIn] = Field(max_length=len(drill.QUESTION_IDS))
    reviews: list[ReviewIn] = Field(max_length=200_000)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != EXPORT_VERSION:
            raise ValueError(f"unsupported export version {value}; this app reads version {EXPORT_VERSION}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ExportFile:
        card_ids = [c.question_id for c in self.cards]
        duplicates = [q for q, n in Counter(card_ids).items() if n > 1]
        if duplicates:
            raise ValueError(f"cards: duplicate question_id {duplicates[0]}")
        tokens = [r.review_token for r in self.reviews if r.review_token is not None]
        dup_tokens = [t for t, n in Counter(tokens).items() if n > 1]
        if dup_tokens:
            raise ValueError(f"reviews: duplicate review_token {dup_tokens[0]!r}")
        per_question = Counter(r.question_id for r in self.reviews)
        for card in self.cards:
            if per_question.get(card.question_id, 0) != card.reps:
                raise ValueError(
                    f"cards: {card.question_id} has reps={card.reps} but the log holds "
                    f"{per_question.get(card.question_id, 0)} reviews of it"
                )
        orphans = sorted(set(per_question) - set(card_ids))
        if orphans:
            raise ValueError(f"reviews: {orphans[0]} has reviews but no card")
        return self


def export_state(*, session: Session, user_id: int, now: datetime) -> dict:
    """The learner's full drill state as a JSON-ready dict."""
    settings = drill.get_settings(session=session, user_id=user_id)
    cards = session.exec(
        select(DrillCard).where(DrillCard.user_id == user_id).order_by(col(DrillCard.question_id))
    ).all()
    reviews = session.exec(
        select(DrillReview).where(DrillReview.user_id == user_id).order_by(col(DrillReview.id))
    ).all()
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": sched.utc(now).isoformat(),
        "settings": settings.to_dict(),
        "cards": [
            {
                "question_id": c.question_id,
                "state": c.state,
                "step": c.step,
                "stability": c.stability,
                "difficulty": c.difficulty,
                "due": c.due.isoformat(),
                "last_review": c.last_review.isoformat() if c.last_review else None,
                "reps": c.reps,
                "fails": c.fails,
            }
            for c in cards
        ],
        "reviews": [
            {
                "question_id": r.question_id,
                "rating": r.rating,
                "reviewed_at": r.reviewed_at.isoformat(),
                "duration_ms": r.duration_ms,
                "source": r.source,
                "review_token": r.review_token,
                "state_before": r.state_before,
                "state_after": r.state_after,
                "card_before": json.loads(r.card_before) if r.card_before else None,
                "card_after": json.loads(r.card_after),
            }
            for r in reviews
        ],
    }


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        parts.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def too_large_message() -> str:
    return (
        f"导入文件太大（上限 {MAX_IMPORT_BYTES // (1024 * 1024)} MB），不是本应用的导出文件 "
        f"(file larger than {MAX_IMPORT_BYTES} bytes)"
    )


def parse_export(raw: bytes | str | dict) -> ExportFile:
    """Validate an export file; ValueError says exactly what is wrong."""
    if isinstance(raw, bytes | str):
        if len(raw) > MAX_IMPORT_BYTES:
            raise ValueError(too_large_message())
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"导入文件不是有效的 JSON (not valid JSON): {exc}") from None
        except RecursionError:
            raise ValueError("导入文件嵌套过深，不是导出文件 (JSON nested too deeply to be an export)") from None
    if not isinstance(raw, dict):
        raise ValueError("导入文件顶层必须是 JSON 对象 (expected a JSON object at the top level)")
    if raw.get("format") != EXPORT_FORMAT:
        raise ValueError(f"不是 transformer-prep 的闪卡导出文件 (format must be {EXPORT_FORMAT!r})")
    try:
        return ExportFile.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"导入文件无效 (invalid export): {_describe(exc)}") from None


def import_state(*, session: Session, user_id: int, raw: bytes | str | dict, now: datetime) -> dict:
    """Replace the learner's drill state with the file's; returns what was imported."""
    data = parse_export(raw)
    try:
        drill.delete_all(session=session, user_id=user_id)
        row = session.get(DrillSettings, user_id) or DrillSettings(user_id=user_id, updated_at=now)
        row.desired_retention = data.settings.desired_retention
        row.new_per_day = data.settings.new_per_day
        row.interview_date = data.settings.interview_date
        row.updated_at = now
        session.add(row)
        for c in data.cards:
            session.add(
                DrillCard(
                    user_id=user_id,
                    question_id=c.question_id,
                    state=c.state,
                    step=c.step,
                    stability=c.stability,
                    difficulty=c.difficulty,
                    due=c.due,
                    last_review=c.last_review,
                    reps=c.reps,
                    fails=c.fails,
                )
            )
        for r in data.reviews:
            session.add(
                DrillReview(
                    user_id=user_id,
                    question_id=r.question_id,
                    rating=r.rating,
                    reviewed_at=r.reviewed_at,
                    duration_ms=r.duration_ms,
                    source=r.source,
                    review_token=r.review_token,
                    state_before=r.state_before,
                    state_after=r.state_after,
                    card_before=json.dumps(r.card_before, sort_keys=True) if r.card_before else None,
                    card_after=json.dumps(r.card_after, sort_keys=True),
                )
            )
        session.flush()  # the unit of work inserts in add order, so log ids keep the file's order
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ValueError(f"导入失败，数据未改变 (import conflicts with existing data): {exc.orig}") from None
    except Exception:
        session.rollback()
        raise
    return {"cards": len(data.cards), "reviews": len(data.reviews), "settings": data.settings.model_dump(mode="json")}
