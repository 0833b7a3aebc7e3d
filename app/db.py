"""Engine, sessions, migrations and the UTC boundary: SQLite stores naive datetimes, we hand out aware ones."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

from app.config import settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC as naive datetimes and reads them back timezone-aware (the one place this is handled)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"refusing to store a naive datetime {value!r}; pass a timezone-aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def stored_utc(moment: datetime) -> str:
    """An instant as a `UTCDateTime` column holds it in SQLite (naive UTC, fixed-width text), for hand-written SQL
    that compares against stored values (app/services/stats.py)."""
    return UTCDateTime().process_bind_param(moment, None).isoformat(sep=" ", timespec="microseconds")  # type: ignore[union-attr]


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout for concurrent writers."""
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
        database = parsed.database
        if not database or database == ":memory:":
            kwargs["poolclass"] = StaticPool
        else:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


engine = make_engine(settings.DATABASE_URL)


def alembic_config() -> Config:
    from alembic.config import Config  # Alembic (≈ 0.1 s to import) is needed once, at start-up

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest migration's id, read from the files (no Alembic import): the one no other revises. None when
    that is not clear-cut (a file whose ids are not found, several heads): then Alembic itself decides."""
    revisions, revised = set(), set()
    files = [p for p in (MIGRATIONS_DIR / "versions").glob("*.py") if p.name != "__init__.py"]
    for path in files:
        source = path.read_text(encoding="utf-8")
        found = re.search(r"""^revision(?:\s*:[^=]+)?\s*=\s*['"]([^'"]+)['"]""", source, re.M)
        if found is None:
            return None
        revisions.add(found.group(1))
        if down := re.search(r"""^down_revision(?:\s*:[^=]+)?\s*=\s*['"]([^'"]+)['"]""", source, re.M):
            revised.add(down.group(1))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 and len(revisions) == len(files) else None


def _at_revision(target: Engine) -> str | None:
    with target.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def run_migrations(target: Engine) -> None:
    """Create or upgrade the schema to the newest revision (the same path for start-up and tests).

    A database already at the newest revision is left alone without importing Alembic (≈ 0.3 s of start-up)."""
    head = head_revision()
    if head is not None and _at_revision(target) == head:
        return
    from alembic import command

    config = alembic_config()
    with target.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


async def get_session() -> AsyncIterator[Session]:
    """A session per request. `async` so FastAPI opens and closes it on the event loop rather than in two worker-
    thread hops (a sync generator dependency costs one hop to enter and one to exit): opening connects nothing,
    and closing returns the connection to the pool; the queries themselves run in the route's worker thread."""
    with Session(engine) as session:
        yield session
