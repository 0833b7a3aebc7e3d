"""Mock ratings reach the drill scheduler exactly once, each as the confirmed item's own review row: two items
confirmed against the same card state give two reviews, a repeated or concurrent confirm of one item writes
once, and a crash between claiming the rating and recording it recovers to the item's own rating."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from app.db import make_engine
from app.main import prepare_database
from app.models import DrillCard, DrillReview, MockQuestion
from app.question_bank import get_bank
from app.services import drill, mock
from tests.utils.race import race

USER = 1
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
QID = "q03"
BANK = {QID: get_bank()[QID]}  # one-question interviews: every session asks the same card
ROUNDS = 50
ROOT = Path(__file__).resolve().parent.parent


def _answered(engine, now: datetime) -> int:
    """A one-question mock interview on QID, answered and waiting for its rating; returns its id."""
    with Session(engine) as s:
        created = mock.create_session(
            session=s, user_id=USER, settings=mock.MockSettings(count=1), now=now, rng=random.Random(7), bank=BANK
        )
        mock.serve_current(session=s, user_id=USER, mock_id=created.id, now=now)
        mock.submit_answer(
            session=s,
            user_id=USER,
            mock_id=created.id,
            question_id=QID,
            text="softmax 之前除以 √d_k",
            now=now,
            bank=BANK,
        )
        return created.id


def _confirm(s: Session, mock_id: int, rating: int, now: datetime) -> MockQuestion:
    return mock.confirm(session=s, user_id=USER, mock_id=mock_id, question_id=QID, now=now, rating=rating, bank=BANK)


def _item(s: Session, mock_id: int) -> MockQuestion:
    return s.exec(select(MockQuestion).where(MockQuestion.mock_session_id == mock_id)).one()


def _reviews(engine) -> list[DrillReview]:
    with Session(engine) as s:
        return list(s.exec(select(DrillReview).order_by(DrillReview.id)))


def _assert_each_item_owns_its_row(engine) -> None:
    """Every rated item is linked to the review written under its own key, with its own rating; no row is shared;
    the card has exactly as many reviews as the log holds."""
    with Session(engine) as s:
        items = [i for i in s.exec(select(MockQuestion)) if i.rated_at is not None]
        links = [i.review_log_id for i in items]
        assert None not in links and len(set(links)) == len(links)
        for item in items:
            row = s.get(DrillReview, item.review_log_id)
            assert (row.review_token, row.rating, row.source) == (drill.mock_review_key(item.id), item.rating, "mock")
            assert item.next_due == drill.sched.card_from_json(row.card_after).due
        count = s.exec(select(func.count()).select_from(DrillReview)).one()
        card = s.exec(select(DrillCard).where(DrillCard.question_id == QID)).first()
        assert (card.reps if card else 0) == count


def test_two_items_confirmed_against_the_same_card_state_each_get_their_own_review(file_engine):
    first, second = _answered(file_engine, T0), _answered(file_engine, T0)
    with Session(file_engine) as s:
        _confirm(s, first, 1, T0 + timedelta(minutes=1))
        _confirm(s, second, 4, T0 + timedelta(minutes=1))
    reviews = _reviews(file_engine)
    # both ratings reached FSRS, in turn: the second applies to the card the first one left
    assert [(r.rating, r.state_before, r.source) for r in reviews] == [(1, 0, "mock"), (4, 1, "mock")]
    assert json.loads(reviews[1].card_before)["reps"] == 1
    _assert_each_item_owns_its_row(file_engine)
    with Session(file_engine) as s:
        for mock_id, rating in ((first, 1), (second, 4)):
            report = mock.build_report(
                session=s, user_id=USER, mock_id=mock_id, now=T0 + timedelta(minutes=2), bank=BANK
            )
            assert report["questions"][0]["rating"] == rating


def test_confirm_of_the_same_item_from_two_threads_writes_once(file_engine):
    now = T0
    for round_ in range(ROUNDS):
        mock_id = _answered(file_engine, now)
        before = len(_reviews(file_engine))
        outcomes = race(
            lambda s, m=mock_id, n=now: _confirm(s, m, 3, n),
            lambda s, m=mock_id, n=now: _confirm(s, m, 3, n),
            engine=file_engine,
        )
        assert all(isinstance(o, MockQuestion) for o in outcomes), outcomes
        assert len(_reviews(file_engine)) == before + 1
        now += timedelta(days=1 + round_ % 3)
    _assert_each_item_owns_its_row(file_engine)


def test_confirms_of_two_items_of_the_same_card_at_once_write_two_reviews(file_engine):
    now = T0
    for _round in range(ROUNDS // 2):
        a, b = _answered(file_engine, now), _answered(file_engine, now)
        before = len(_reviews(file_engine))
        outcomes = race(
            lambda s, m=a, n=now: _confirm(s, m, 2, n),
            lambda s, m=b, n=now: _confirm(s, m, 4, n),
            engine=file_engine,
        )
        assert all(isinstance(o, MockQuestion) for o in outcomes), outcomes
        assert len(_reviews(file_engine)) == before + 2
        now += timedelta(days=2)
    _assert_each_item_owns_its_row(file_engine)


def test_a_crash_inside_the_record_step_recovers_to_the_items_own_rating(file_engine, monkeypatch):
    crashed, other = _answered(file_engine, T0), _answered(file_engine, T0)
    real = drill.record_review

    def dies_before_commit(**kwargs):
        link = kwargs["on_recorded"]

        def crash(log: DrillReview) -> None:
            link(log)  # the review row and the link are written …
            raise KeyboardInterrupt("process killed")  # … and the process dies before the commit

        return real(**{**kwargs, "on_recorded": crash})

    monkeypatch.setattr(drill, "record_review", dies_before_commit)
    with Session(file_engine) as s, pytest.raises(KeyboardInterrupt):
        _confirm(s, crashed, 1, T0 + timedelta(minutes=1))
    monkeypatch.setattr(drill, "record_review", real)
    with Session(file_engine) as s:
        item = _item(s, crashed)
        assert (item.rating, item.review_log_id) == (1, None)  # claimed, not recorded: nothing half-written
    assert _reviews(file_engine) == []

    # Meanwhile another session rates the same card state: it records its own review ...
    with Session(file_engine) as s:
        _confirm(s, other, 4, T0 + timedelta(minutes=2))
    # ... and opening the crashed session's report records the crashed item's own rating, never linking the other's.
    with Session(file_engine) as s:
        report = mock.build_report(session=s, user_id=USER, mock_id=crashed, now=T0 + timedelta(minutes=3), bank=BANK)
        assert report["questions"][0]["rating"] == 1
        mock.build_report(session=s, user_id=USER, mock_id=crashed, now=T0 + timedelta(minutes=4), bank=BANK)
    reviews = _reviews(file_engine)
    assert [(r.rating, r.review_token) for r in reviews] == [
        (4, drill.mock_review_key(_item_id(file_engine, other))),
        (1, drill.mock_review_key(_item_id(file_engine, crashed))),
    ]
    _assert_each_item_owns_its_row(file_engine)


def _item_id(engine, mock_id: int) -> int:
    with Session(engine) as s:
        return _item(s, mock_id).id


_KILLED_CHILD = """
import os, sys
from datetime import datetime, UTC
from sqlmodel import Session
from app.db import make_engine
from app.services import drill, mock
from app.question_bank import get_bank

engine = make_engine(sys.argv[1])
real = drill.record_review

def killed(**kwargs):
    link = kwargs["on_recorded"]
    def die(log):
        link(log)
        os._exit(9)  # kill -9 between writing the review and committing it
    return real(**{**kwargs, "on_recorded": die})

drill.record_review = killed
with Session(engine) as s:
    mock.confirm(session=s, user_id=1, mock_id=int(sys.argv[2]), question_id="q03", rating=2,
                 now=datetime(2026, 11, 2, 9, 5, tzinfo=UTC), bank={"q03": get_bank()["q03"]})
"""


def test_a_process_killed_between_claim_and_record_recovers_after_restart(file_engine, tmp_path):
    mock_id = _answered(file_engine, T0)
    url = str(file_engine.url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_CHILD, url, str(mock_id)], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 9, done.stderr.decode()[-2000:]
    with Session(file_engine) as s:
        item = _item(s, mock_id)
        assert (item.rating, item.review_log_id) == (2, None)
    assert _reviews(file_engine) == []
    # "restart": a new engine on the same file, the way the app starts
    engine = make_engine(url)
    prepare_database(engine)
    with Session(engine) as s:
        mock.finish(session=s, user_id=USER, mock_id=mock_id, now=T0 + timedelta(minutes=10), bank=BANK)
    engine.dispose()
    reviews = _reviews(file_engine)
    assert [(r.rating, r.source) for r in reviews] == [(2, "mock")]
    _assert_each_item_owns_its_row(file_engine)
