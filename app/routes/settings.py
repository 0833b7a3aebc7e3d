"""Settings page (/settings) and API (/api/settings), plus export (/api/export) and import (/api/import)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app import scheduler as sched
from app.cards import TRACK_NAMES, TrackName
from app.clock import study_tz
from app.concurrency import cpu_heavy
from app.deps import ClockDep, SessionDep, UserIdDep
from app.routes.contract import explained, only_fields
from app.services import drill as svc
from app.services import drill_transfer
from app.templating import templates

router = APIRouter(tags=["settings"])

SETTINGS_FIELDS = ("desired_retention", "new_per_day", "interview_date", "tracks")
SETTINGS_EXAMPLE = {
    "desired_retention": 0.9,
    "new_per_day": 10,
    "interview_date": "2026-12-15",
    "tracks": ["guide", "modern", "code"],
}


def _bad_retention(value: object) -> None:
    svc.validate_settings(desired_retention=value, new_per_day=0, interview_date=None)


def _bad_new_per_day(value: object) -> None:
    svc.validate_settings(desired_retention=sched.DEFAULT_DESIRED_RETENTION, new_per_day=value, interview_date=None)


def _bad_tracks(value: object) -> None:
    svc.parse_tracks(value)


def _bad_date(value: object) -> None:
    day = svc.parse_iso_date(value)
    svc.validate_settings(desired_retention=sched.DEFAULT_DESIRED_RETENTION, new_per_day=0, interview_date=day)


class SettingsUpdate(BaseModel):
    """Body of PUT /api/settings: any of the fields; a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [SETTINGS_EXAMPLE]})

    desired_retention: Annotated[
        float | None,
        Field(ge=sched.MIN_DESIRED_RETENTION, le=sched.MAX_DESIRED_RETENTION, strict=True, allow_inf_nan=False),
        explained(_bad_retention),
    ] = Field(None, description="期望保留率 (FSRS desired retention); null keeps the current value")
    new_per_day: Annotated[
        int | None, Field(ge=0, le=svc.MAX_NEW_PER_DAY, strict=True), explained(_bad_new_per_day)
    ] = Field(None, description="每日新卡数 (new cards per day); null keeps the current value")
    interview_date: Annotated[
        date | None,
        Field(ge=svc.MIN_INTERVIEW_DATE, le=svc.MAX_INTERVIEW_DATE),
        BeforeValidator(svc.parse_iso_date),  # only YYYY-MM-DD (Pydantic alone would take timestamps)
        explained(_bad_date),
    ] = Field(
        None,
        description=f"面试日期 YYYY-MM-DD, {svc.MIN_INTERVIEW_DATE} … {svc.MAX_INTERVIEW_DATE}; null clears it",
    )

    tracks: Annotated[list[TrackName] | None, Field(min_length=1, max_length=3), explained(_bad_tracks)] = Field(
        None,
        description="排进闪卡的轨道 (tracks scheduled in drills): guide (q01–q30), modern (q31–q60), code (the lab's "
        "exercises); at least one; null keeps the current value",
    )

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        return only_fields(data, SETTINGS_FIELDS, zh="未知设置项", en="setting")


def _merge(current: svc.DrillSettingsView, changes: dict[str, Any]) -> svc.DrillSettingsView:
    """Apply the given fields over the current settings (unknown fields are refused by `SettingsUpdate`);
    ValueError names a bad value."""
    values = current.to_dict()
    values.update(changes)
    return svc.validate_settings(
        desired_retention=values["desired_retention"],
        new_per_day=values["new_per_day"],
        interview_date=svc.parse_iso_date(values["interview_date"]),
        tracks=values["tracks"],
    )


def _page(request: Request, *, settings: svc.DrillSettingsView, status: int = 200, **extra: Any) -> HTMLResponse:
    context = {
        "settings": settings,
        "min_retention": sched.MIN_DESIRED_RETENTION,
        "max_retention": sched.MAX_DESIRED_RETENTION,
        "max_new": svc.MAX_NEW_PER_DAY,
        "final_days": sched.FINAL_WINDOW_DAYS,
        "min_date": svc.MIN_INTERVIEW_DATE.isoformat(),
        "max_date": svc.MAX_INTERVIEW_DATE.isoformat(),
        "track_choices": TRACK_NAMES,
        **extra,
    }
    return templates.TemplateResponse(request, "settings.html", context, status_code=status)


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refused with 422 as soon as it passes `limit` bytes (never held whole in memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(422, detail=drill_transfer.too_large_message())
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(422, detail=drill_transfer.too_large_message())
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_page(request: Request, session: SessionDep, user_id: UserIdDep) -> HTMLResponse:
    return _page(request, settings=svc.get_settings(session=session, user_id=user_id))


@router.post("/settings", response_class=HTMLResponse, include_in_schema=False)
def settings_form(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    desired_retention: str = Form(""),
    new_per_day: str = Form(""),
    interview_date: str = Form(""),
    tracks: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies form defaults)
    tracks_shown: str = Form(""),
) -> HTMLResponse:
    current = svc.get_settings(session=session, user_id=user_id)
    try:
        try:
            retention: Any = float(desired_retention)
        except ValueError:
            raise ValueError(
                f"期望保留率必须是数字 (desired_retention must be a number, got {desired_retention[:20]!r})"
            ) from None
        per_day: Any = int(new_per_day) if new_per_day.strip().isdigit() else new_per_day[:20]
        changes = {"desired_retention": retention, "new_per_day": per_day, "interview_date": interview_date}
        if tracks_shown:  # the form showed the track boxes: none ticked is an error, not "keep"
            changes["tracks"] = [t[:20] for t in tracks[:10]]
        wanted = _merge(current, changes)
    except ValueError as exc:
        form = {
            "desired_retention": desired_retention,
            "new_per_day": new_per_day,
            "interview_date": interview_date,
            "tracks": tracks,
        }
        return _page(request, settings=current, status=422, error=str(exc), form=form)
    saved = svc.save_settings(session=session, user_id=user_id, settings=wanted, now=clock.now())
    return _page(request, settings=saved, notice="已保存 Saved")


@router.post("/settings/import", response_class=HTMLResponse, include_in_schema=False)
def settings_import(
    request: Request, session: SessionDep, clock: ClockDep, user_id: UserIdDep, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    # A plain `def`: the multipart body is spooled on the event loop, then reading, parsing and the one-transaction
    # replacement (seconds for a large file) run in the threadpool, so other requests keep being answered.
    raw = file.file.read(drill_transfer.MAX_IMPORT_BYTES + 1)  # one byte over is enough to refuse it
    try:
        with cpu_heavy():  # see app/concurrency.py: keeps other requests answered meanwhile
            summary = drill_transfer.import_state(session=session, user_id=user_id, raw=raw, now=clock.now())
    except ValueError as exc:
        return _page(request, settings=svc.get_settings(session=session, user_id=user_id), status=422, error=str(exc))
    notice = f"已导入 Imported：{summary['cards']} 张卡片，{summary['reviews']} 条复习记录"
    return _page(request, settings=svc.get_settings(session=session, user_id=user_id), notice=notice)


@router.get("/api/settings")
def api_get_settings(session: SessionDep, user_id: UserIdDep) -> dict:
    """desired_retention (0.7–0.97), new_per_day (0–100), interview_date (ISO date or null)."""
    return svc.get_settings(session=session, user_id=user_id).to_dict()


@router.put("/api/settings")
def api_put_settings(
    session: SessionDep,
    clock: ClockDep,
    user_id: UserIdDep,
    body: SettingsUpdate,
) -> dict:
    """Change any of the settings (fields left out keep their value); 422 and nothing saved on a bad value."""
    current = svc.get_settings(session=session, user_id=user_id)
    changes = body.model_dump(exclude_unset=True)
    for kept in ("desired_retention", "new_per_day"):
        if changes.get(kept, 0) is None:
            del changes[kept]
    try:
        wanted = _merge(current, changes)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return svc.save_settings(session=session, user_id=user_id, settings=wanted, now=clock.now()).to_dict()


@router.get("/api/export")
def api_export(session: SessionDep, clock: ClockDep, user_id: UserIdDep) -> JSONResponse:
    """The learner's full drill state (settings, cards, review log) as versioned JSON."""
    now = clock.now()
    data = drill_transfer.export_state(session=session, user_id=user_id, now=now)
    # named by the study time zone's wall clock, the day the learner sees everywhere else in the app
    filename = f"transformer-prep-drill-{sched.local_time(now, study_tz()):%Y%m%d-%H%M%S}.json"
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


async def _import_body(request: Request) -> bytes:
    """The export file, read on the event loop (bounded); parsing and writing it happen in the threadpool."""
    return await _read_limited(request, drill_transfer.MAX_IMPORT_BYTES)


IMPORT_BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": f"an export file from GET /api/export (at most {drill_transfer.MAX_IMPORT_BYTES} bytes)",
        "content": {"application/json": {"schema": {"type": "object", "title": "Export file"}}},
    }
}


@router.post("/api/import", openapi_extra=IMPORT_BODY_DOC)
def api_import(
    session: SessionDep, clock: ClockDep, user_id: UserIdDep, raw: Annotated[bytes, Depends(_import_body)]
) -> dict:
    """Replace the drill state with an export file (the JSON body); 422 says why and changes nothing."""
    try:
        with cpu_heavy():  # see app/concurrency.py: keeps other requests answered meanwhile
            summary = drill_transfer.import_state(session=session, user_id=user_id, raw=raw, now=clock.now())
        return {"imported": summary}
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
