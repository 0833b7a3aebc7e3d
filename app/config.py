"""Settings read from the environment (or `.env`); a bad value stops start-up naming the variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # SQLite file holding the learner's cards, reviews and mock interviews.
    DATABASE_URL: str = f"sqlite:///{ROOT / 'data' / 'transformer_prep.db'}"
    # Largest request body accepted, in bytes (imports of a full export fit comfortably).
    MAX_BODY_BYTES: int = Field(default=2_000_000, ge=1_024)
    # The one local learner until accounts exist.
    DEFAULT_USER_NAME: str = "学习者"
    # The learner's time zone: where "today" ends (new-card allowance, interview day, charts). IANA name.
    STUDY_TIMEZONE: str = "Asia/Shanghai"
    # Warm-ups in the background: the bundled model at start-up, the code lab's runner when a page that can run
    # code is first shown (the suite's in-process clients skip both; their runs start things on demand).
    WARM_UP_MODEL: bool = True
    # Model worker processes (visualizer runs at once); more visitors queue for one instead of thrashing the CPU.
    # One is enough for one learner (a run takes 10-40 ms), and each is a process with torch in it (≈ 270 MB RSS,
    # ≈ 200 MB of it private), so the default does not grow with the cores: cores - 1 workers made 7 such processes
    # on an 8-core laptop. Raise it when several people share the server. On 2 cores, a drill grade + next card
    # while 4 clients hammer /api/attention took p95 18-20 ms with 1 worker against 27-29 ms with 2 (which answered
    # 40% more attention requests meanwhile; benchmarks/issue15.py's load, README Performance).
    TORCH_WORKERS: int = Field(default=1, ge=1, le=64)
    # torch's intra-op threads per run: workers × threads ≈ the cores (the model's matrices are small).
    TORCH_THREADS: int = Field(default=1, ge=1, le=64)
    # Run the model in TORCH_WORKERS separate processes (true) rather than in the web server's threads (false, the
    # suite's in-process clients): a run is mostly Python between tiny ops, and in-process it held the GIL that
    # every other request needs (README, Performance: a drill grade while 4 clients hammer the visualizer).
    MODEL_PROCESS: bool = True
    # The per-install secret (CSRF and review tokens). Empty: a file next to the SQLite database
    # (`data/transformer_prep.secret`), created with mode 0600 on first start; an in-memory database
    # gets a secret that lives as long as the process, like its data.
    SECRET_FILE: str = ""
    # Host names (or IPs) this server answers to, comma-separated; any other Host header gets 400, which
    # stops DNS rebinding. localhost, 127.0.0.1 and [::1] are always allowed; `*` allows any (only behind
    # a proxy that checks Host itself). Serving on a LAN: ALLOWED_HOSTS=192.168.1.20,mybox.local
    ALLOWED_HOSTS: str = "localhost,127.0.0.1,[::1]"
    # The address `make run` binds (its HOST); allowed as a Host name too unless it is 0.0.0.0 / ::.
    SERVE_HOST: str = ""
    # The hand-coding lab's code runner (sandboxed worker processes): on, off, or auto = on only when the
    # server listens on loopback (SERVE_HOST empty — uvicorn's default 127.0.0.1 — or a loopback address).
    CODE_RUNNER: Literal["auto", "on", "off"] = "auto"

    @field_validator("ALLOWED_HOSTS")
    @classmethod
    def _plain_host_names(cls, value: str) -> str:
        for name in filter(None, (part.strip() for part in value.split(","))):
            if any(c in name for c in "/ @?#") or "://" in name:
                raise ValueError(f"ALLOWED_HOSTS entry {name!r} must be a bare host name or IP, e.g. mybox.local")
        return value

    @field_validator("STUDY_TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC") from None
        return value


settings = Settings()

# Every compressed answer (GZipMiddleware, and /api/attention's, compressed in the model worker): level 1, not
# Starlette's 9. A 265 KB attention answer takes 3.2 ms of CPU at 1 against 49 ms at 9, for 93 KB against 79 KB
# (masks view 44 KB against 33 KB); on loopback the bytes hardly matter, and on two cores those 49 ms were taken
# from every other request (README, Performance). Smaller answers are sent as they are.
GZIP_LEVEL = 1
GZIP_MIN_BYTES = 1024
