"""bike-api settings: one pydantic-settings class read from the environment (`.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.features import (
    DEFAULT_DRIFT_SHARE_THRESHOLD,
    FEATURES,
    REFERENCE_END,
    REFERENCE_START,
    TARGET,
)

__all__ = [
    "DEFAULT_DRIFT_SHARE_THRESHOLD",
    "FEATURES",
    "REFERENCE_END",
    "REFERENCE_START",
    "TARGET",
    "UCI_URL",
    "Settings",
    "get_settings",
]

ROOT = Path(__file__).resolve().parent.parent

# The real UCI download: users get real data; CI points BIKE_SHARING_SOURCE at a local copy.
UCI_URL = "https://archive.ics.uci.edu/static/public/275/bike+sharing+dataset.zip"


class Settings(BaseSettings):
    """Everything configurable about bike-api; each field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())

    bike_sharing_source: str = Field(UCI_URL, description="UCI zip URL, or a local .zip/.csv")
    data_dir: Path = Field(ROOT / "data", description="download cache (git-ignored)")
    model_dir: Path = Field(ROOT / "artifacts", description="model artifact, card, reference")
    reports_dir: Path = Field(ROOT / "reports", description="Evidently reports (git-ignored)")
    reports_keep: int = Field(20, ge=1, description="newest report pairs kept")
    # A /predict body is ~250 bytes; an /evaluate of the exam's 1000-row weeks is ~300 KB.
    max_body_bytes: int = Field(2_000_000, ge=1024)
    # The exam's client sends at most 1000 rows per week; 10x leaves room for larger batches
    # while bounding the report's memory and time.
    max_evaluation_rows: int = Field(10_000, ge=1)
    drift_share_threshold: float = Field(DEFAULT_DRIFT_SHARE_THRESHOLD, gt=0, le=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
