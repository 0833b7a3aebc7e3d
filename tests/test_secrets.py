"""The per-install secret: created once, 0600, stable across restarts, refused when damaged."""

from __future__ import annotations

import stat
import threading

import pytest

from app import secrets as install
from app.secrets import SECRET_BYTES, forget_cached_secrets, install_secret, keyed_digest, secret_path


@pytest.fixture(autouse=True)
def _fresh_cache():
    forget_cached_secrets()
    yield
    forget_cached_secrets()


def test_secret_is_created_once_with_owner_only_permissions(tmp_path):
    path = tmp_path / "sub" / "app.secret"
    first = install_secret(path)
    assert len(first) == SECRET_BYTES
    assert path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    forget_cached_secrets()  # a restart reads the same file
    assert install_secret(path) == first


def test_two_installs_get_different_secrets(tmp_path):
    assert install_secret(tmp_path / "a.secret") != install_secret(tmp_path / "b.secret")


def test_concurrent_first_start_agrees_on_one_secret(tmp_path):
    path = tmp_path / "race.secret"
    results: list[bytes] = []

    def start() -> None:
        results.append(install._create(path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert path.read_bytes() == results[0]
    assert [p.name for p in tmp_path.iterdir()] == ["race.secret"]  # no temp files left behind


def test_damaged_secret_stops_with_its_path(tmp_path):
    path = tmp_path / "bad.secret"
    path.write_bytes(b"short")
    with pytest.raises(RuntimeError, match="bad.secret"):
        install_secret(path)


def test_loosened_permissions_are_tightened(tmp_path):
    path = tmp_path / "loose.secret"
    install_secret(path)
    path.chmod(0o644)
    forget_cached_secrets()
    install_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secret_lives_next_to_the_database(tmp_path):
    assert secret_path(f"sqlite:///{tmp_path}/x/prep.db", "") == tmp_path / "x" / "prep.secret"
    assert secret_path("sqlite://", "") is None
    assert secret_path("sqlite:///:memory:", "") is None
    assert secret_path("sqlite:///whatever.db", str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_keyed_digest_separates_purposes_and_secrets():
    a, b = b"a" * SECRET_BYTES, b"b" * SECRET_BYTES
    assert keyed_digest("csrf", secret=a) != keyed_digest("review", secret=a)
    assert keyed_digest("csrf", "m", secret=a) != keyed_digest("csrf", "m", secret=b)
    assert keyed_digest("csrf", "m", secret=a) == keyed_digest("csrf", "m", secret=a)
    assert len(keyed_digest("csrf", secret=a)) == 64
