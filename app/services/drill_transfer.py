"""Export and import of a learner's drill state (settings, cards, review log) as versioned JSON.

Import is all-or-nothing: the file is read (UTF-8, a BOM allowed; no NaN/Infinity, no duplicate keys; bounded
size and nesting) and validated completely against the domain rules of `drill_file` before anything is
touched, and the replacement runs in one transaction; a bad file raises ValueError saying which record and
field is wrong, Chinese first with the English detail, and changes nothing.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import scheduler as sched
from app.models import DrillCard, DrillReview, DrillSettings
from app.services import drill
from app.services.drill_file import EXPORT_FORMAT, EXPORT_VERSION, ExportFile, ImportProblem, echo_safe, validate_file

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "MAX_IMPORT_BYTES",
    "export_state",
    "import_state",
    "parse_export",
    "too_large_message",
]

# An export is ~0.7 KB per review; 64 MB is ~90 000 reviews (3 000 per question), far beyond a real
# learner, while parsing a file this size stays under a few hundred MB of memory.
MAX_IMPORT_BYTES = 64 * 1024 * 1024


def too_large_message() -> str:
    return (
        f"导入文件太大（上限 {MAX_IMPORT_BYTES // (1024 * 1024)} MB），不是本应用的导出文件 "
        f"(file larger than {MAX_IMPORT_BYTES} bytes)"
    )


# ---------------------------------------------------------------- parsing


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        key = next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
        raise ImportProblem(
            f"JSON 对象里的键 {echo_safe(repr(key), 40)} 出现了两次",
            f"duplicate key {echo_safe(repr(key), 40)} in a JSON object",
        )
    return result


def _no_constants(name: str) -> float:
    raise ImportProblem(f"JSON 里不能有 {name}", f"{name} is not a JSON number")


def _load_json(raw: bytes | str) -> object:
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValueError(too_large_message())
    if isinstance(raw, bytes):
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # Windows editors save UTF-8 with a byte-order mark
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"导入文件不是 UTF-8 编码的 JSON (not valid JSON: not UTF-8: {exc})") from None
    raw = raw.removeprefix("\ufeff")
    if not raw.strip():
        raise ValueError("导入文件是空的 (not valid JSON: the file is empty)")
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except ImportProblem as exc:
        raise ValueError(f"导入文件不是有效的 JSON：{exc.zh} (not valid JSON: {exc.en})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"导入文件不是有效的 JSON (not valid JSON): {exc}") from None
    except RecursionError:
        raise ValueError("导入文件嵌套过深，不是导出文件 (JSON nested too deeply to be an export)") from None
    except ValueError:  # an integer literal beyond Python's 4 300-digit limit
        raise ValueError("导入文件里有位数过多的数字 (not valid JSON: a number with too many digits)") from None


def parse_export(raw: bytes | str | dict, *, now: datetime | None = None) -> ExportFile:
    """Read and validate an export file against the domain rules at `now`; ValueError says what is wrong."""
    return validate_file(_load_json(raw) if isinstance(raw, bytes | str) else raw, now=now)


# ---------------------------------------------------------------- export and import


def _finite(value: float | None) -> float | None:
    """NaN/Infinity (left by an import made before these checks) become null: JSON cannot carry them, and a
    backup that says `null` where the damage is beats no backup at all (importing it names the field)."""
    return value if value is None or math.isfinite(value) else None


def _stored_card(text: str) -> dict:
    return json.loads(text, parse_constant=lambda _name: None)


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
                "stability": _finite(c.stability),
                "difficulty": _finite(c.difficulty),
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
                "card_before": _stored_card(r.card_before) if r.card_before else None,
                "card_after": _stored_card(r.card_after),
            }
            for r in reviews
        ],
    }


def import_state(*, session: Session, user_id: int, raw: bytes | str | dict, now: datetime) -> dict:
    """Replace the learner's drill state with the file's; returns what was imported."""
    data = parse_export(raw, now=now)
    try:
        drill.delete_all(session=session, user_id=user_id)
        row = session.get(DrillSettings, user_id) or DrillSettings(user_id=user_id, updated_at=now)
        row.desired_retention = data.settings.desired_retention
        row.new_per_day = data.settings.new_per_day
        row.interview_date = data.settings.interview_date
        row.tracks = list(drill.parse_tracks(data.settings.tracks)) if data.settings.tracks else None
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
        session.flush()
        if data.reviews:
            # One multi-row INSERT, in file order, so log ids keep the file's order (30 000 rows in about a second).
            session.connection().execute(
                insert(DrillReview),
                [
                    {
                        "user_id": user_id,
                        "question_id": r.question_id,
                        "rating": r.rating,
                        "reviewed_at": r.reviewed_at,
                        "duration_ms": r.duration_ms,
                        "source": r.source,
                        "review_token": r.review_token,
                        "state_before": r.state_before,
                        "state_after": r.state_after,
                        "card_before": r.card_before.to_json() if r.card_before else None,
                        "card_after": r.card_after.to_json(),
                    }
                    for r in data.reviews
                ],
            )
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ValueError(f"导入失败，数据未改变 (import conflicts with existing data): {exc.orig}") from None
    except Exception:
        session.rollback()
        raise
    return {"cards": len(data.cards), "reviews": len(data.reviews), "settings": data.settings.model_dump(mode="json")}
