"""Racing calls on real connections: each on its own thread and session, released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session


def race(*calls: Callable[[Session], object], engine: Engine) -> list[object]:
    """Run each call on its own thread and connection, released together by a barrier; exceptions are results."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        with Session(engine) as s:
            barrier.wait()
            try:
                outcomes[index] = calls[index](s)
            except Exception as exc:  # the outcome under test (409/422 as exceptions)
                outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes
