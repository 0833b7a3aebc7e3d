"""The per-install secret: 32 random bytes created on first use and kept next to the data.

Anything that must be unguessable from outside (CSRF form tokens, drill review tokens) is an HMAC under
this secret, so it cannot be computed from public values. The file sits beside the SQLite database
(it survives migrations and travels with a copy of `data/`), is written once with mode 0600, and is
never regenerated behind the learner's back: a damaged file stops the app with its path.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
from functools import lru_cache
from pathlib import Path

from sqlalchemy.engine import make_url

from app.config import settings

SECRET_BYTES = 32

_lock = threading.Lock()
_cache: dict[str, bytes] = {}
_PROCESS_KEY = ":memory:"


def secret_path(database_url: str | None = None, secret_file: str | None = None) -> Path | None:
    """Where the secret lives: SECRET_FILE, else `<database stem>.secret` beside a file database;
    None for an in-memory database (its secret lasts as long as the process, like its data)."""
    explicit = settings.SECRET_FILE if secret_file is None else secret_file
    if explicit:
        return Path(explicit)
    url = make_url(settings.DATABASE_URL if database_url is None else database_url)
    if url.get_backend_name() != "sqlite":
        raise ValueError(f"SECRET_FILE must be set for a non-SQLite DATABASE_URL ({url.get_backend_name()})")
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    db = Path(database)
    return db.with_name(f"{db.stem}.secret")


def _read(path: Path) -> bytes:
    secret = path.read_bytes()
    if len(secret) != SECRET_BYTES:
        raise RuntimeError(
            f"密钥文件损坏：{path} 应为 {SECRET_BYTES} 字节，实为 {len(secret)} 字节 "
            f"(install secret {path} is damaged; restore it from a backup, or delete it to issue a new one, "
            "which invalidates open forms and shown cards)"
        )
    if os.name == "posix" and path.stat().st_mode & 0o077:
        path.chmod(0o600)  # someone loosened it; the secret is only for this user
    return secret


def _create(path: Path) -> bytes:
    """Write a new secret atomically: a complete 0600 temp file, then a hard link that fails if another
    process won the race (whose secret is then used), so no reader ever sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(SECRET_BYTES))
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process won: use its secret
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


@lru_cache(maxsize=16)
def _configured_path(secret_file: str, database_url: str) -> Path | None:
    return secret_path(database_url, secret_file)


def install_secret(path: Path | None = None) -> bytes:
    """The 32-byte install secret, created on first use (at `path`, default `secret_path()`)."""
    target = path if path is not None else _configured_path(settings.SECRET_FILE, settings.DATABASE_URL)
    key = _PROCESS_KEY if target is None else str(target)
    cached = _cache.get(key)  # the hot path (every form token check): no lock, no file system
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if target is None:
            secret = os.urandom(SECRET_BYTES)
        elif target.exists():
            secret = _read(target)
        else:
            secret = _create(target)
        _cache[key] = secret
        return secret


def keyed_digest(purpose: str, message: str = "", *, secret: bytes | None = None) -> str:
    """Hex HMAC-SHA256 of `message` under a key derived for `purpose` (so a CSRF token can never
    double as a review token): HMAC(HMAC(secret, purpose), message)."""
    root = install_secret() if secret is None else secret
    purpose_key = hmac.new(root, purpose.encode(), hashlib.sha256).digest()
    return hmac.new(purpose_key, message.encode(), hashlib.sha256).hexdigest()


def forget_cached_secrets() -> None:
    """Drop the in-process cache (tests that point SECRET_FILE or DATABASE_URL elsewhere)."""
    with _lock:
        _cache.clear()
