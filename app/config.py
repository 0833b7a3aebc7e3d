"""Settings read from the environment (or `.env`); a bad value stops start-up naming the variable."""

from __future__ import annotations

from pathlib import Path
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
    # Run the bundled model once in the background at start-up (the suite's in-process clients skip it).
    WARM_UP_MODEL: bool = True
    # The per-install secret (CSRF and review tokens). Empty: a file next to the SQLite database
    # (`data/transformer_prep.secret`), created with mode 0600 on first start; an in-memory database
    # gets a secret that lives as long as the process, like its data.
    SECRET_FILE: str = ""

    @field_validator("STUDY_TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai or UTC") from None
        return value


settings = Settings()
