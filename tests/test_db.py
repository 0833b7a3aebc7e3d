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
