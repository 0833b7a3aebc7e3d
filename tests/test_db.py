"""Persistence foundation: migrations reproduce the tables, datetimes come back as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import StatementError
from sqlmodel import Session, SQLModel, select

from app.db import make_engine, run_migrations
from app.main import prepare_database
from app.models import User


def test_migrations_build_exactly_the_declared_tables(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == [], f"app/models.py and app/migrations disagree: {diff}"


def test_migrating_twice_keeps_data(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    prepare_database(engine)
    with Session(engine) as session:
        session.add(User(name="second", created_at=datetime.now(UTC)))
        session.commit()
    run_migrations(engine)  # a restart upgrades in place
    with Session(engine) as session:
        assert [u.name for u in session.exec(select(User).order_by(User.id))][1] == "second"
    engine.dispose()


def test_datetimes_round_trip_as_aware_utc(session):
    moment = datetime(2026, 11, 26, 20, 30, tzinfo=timezone(timedelta(hours=8)))
    user = User(name="tz", created_at=moment)
    session.add(user)
    session.commit()
    session.expire_all()
    loaded = session.get(User, user.id)
    assert loaded.created_at.tzinfo is UTC
    assert loaded.created_at == moment  # same instant, shown in UTC
    assert loaded.created_at.hour == 12


def test_naive_datetimes_are_refused(session):
    session.add(User(name="naive", created_at=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="naive datetime"):
        session.commit()


def test_default_user_exists_after_start_up(session):
    assert session.get(User, 1) is not None


def test_upgrading_a_0001_database_keeps_its_mock_sessions(tmp_path):
    """The real upgrade path: a learner's database from the first release gains the request_id column."""
    from alembic import command
    from sqlalchemy import inspect, text

    from app.db import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO user (id, name, created_at) VALUES (1, 'old', '2026-11-01 08:00:00')"))
        connection.execute(
            text(
                "INSERT INTO mock_session (id, user_id, created_at, status, requested_count, count, selection,"
                " hard_stop, practice, seed) VALUES (7, 1, '2026-11-01 08:05:00', 'active', 3, 3, 'random', 0, 0, 42)"
            )
        )
    run_migrations(engine)
    assert "request_id" in {c["name"] for c in inspect(engine).get_columns("mock_session")}
    with engine.connect() as connection:
        row = connection.execute(text("SELECT id, seed, request_id FROM mock_session")).one()
    assert tuple(row) == (7, 42, None)
    engine.dispose()


def test_a_database_at_the_newest_revision_is_not_migrated_again(tmp_path, monkeypatch):
    """Start-up skips Alembic when the database is already at the head found in the migration files."""
    import alembic.command

    from app.db import head_revision

    engine = make_engine(f"sqlite:///{tmp_path / 'at-head.db'}")
    run_migrations(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
    upgrades: list[str] = []
    monkeypatch.setattr(alembic.command, "upgrade", lambda config, rev: upgrades.append(rev))
    run_migrations(engine)
    assert upgrades == []
    with engine.begin() as connection:  # one revision behind: Alembic runs
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
    run_migrations(engine)
    assert upgrades == ["head"]
