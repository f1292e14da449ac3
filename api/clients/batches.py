"""Labelled batches for /evaluate, cut from the UCI data the way the exam's client cuts them."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from api.config import FEATURES, TARGET, Settings
from api.data import load_hourly
from api.deps import API_KEY_HEADER

__all__ = [
    "DEFAULT_API_URL",
    "RANDOM_STATE",
    "SAMPLE_SIZE",
    "SHIFTED_PERIOD",
    "WEEKLY_PERIODS",
    "api_key_headers",
    "api_url",
    "evaluation_payload",
    "shifted_payload",
]

# The exam's run_evaluation.py: three weeks after the January reference, up to 1000 rows each,
# sampled with random_state=42.
WEEKLY_PERIODS: dict[str, tuple[str, str]] = {
    "week1_february": ("2011-01-29 00:00:00", "2011-02-07 23:00:00"),
    "week2_february": ("2011-02-08 00:00:00", "2011-02-14 23:00:00"),
    "week3_february": ("2011-02-15 00:00:00", "2011-02-21 23:00:00"),
}
SAMPLE_SIZE = 1000
RANDOM_STATE = 42
# Summer rows for alert drills: another season, so the weather, month and season features
# drift and the January model misfits (measured: drift share 0.45, RMSE ~160 vs ~20-40 in
# February). Real data, sent through /evaluate: nothing sets a gauge by hand.
SHIFTED_PERIOD = ("july_2011_shifted", "2011-07-01 00:00:00", "2011-07-31 23:00:00")
PAYLOAD_COLUMNS = (*FEATURES, TARGET, "dteday")
DEFAULT_API_URL = "http://localhost:8080"


def api_url(cli_value: str | None) -> str:
    """--url, else $API_URL, else localhost:8080 (compose services use http://bike-api:8080)."""
    return (cli_value or os.environ.get("API_URL") or DEFAULT_API_URL).rstrip("/")


def api_key_headers() -> dict[str, str]:
    """The X-API-Key header /evaluate needs, from EVALUATE_API_KEY or EVALUATE_API_KEY_FILE as
    the API reads them (`make evaluation` points the file at secrets/evaluate-api-key)."""
    key = Settings().api_key()
    return {API_KEY_HEADER: key} if key else {}


def evaluation_payload(
    hourly: pd.DataFrame, name: str, start: str, end: str, *, sample_size: int = SAMPLE_SIZE
) -> dict[str, Any]:
    """`{"data": [records], "evaluation_period_name": name}` for the rows in [start, end]."""
    rows = hourly.loc[start:end, list(PAYLOAD_COLUMNS)]
    if len(rows) > sample_size:
        rows = rows.sample(n=sample_size, random_state=RANDOM_STATE)
    rows = rows.astype({"dteday": str})
    return {"data": rows.to_dict(orient="records"), "evaluation_period_name": name}


def shifted_payload(source: str | None = None) -> dict[str, Any]:
    """The July 2011 batch (SHIFTED_PERIOD) as an /evaluate body."""
    name, start, end = SHIFTED_PERIOD
    return evaluation_payload(load_hourly(source), name, start, end)
