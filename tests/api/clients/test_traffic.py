"""`make traffic`: real rows to a real API, and a clear line when no API answers."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.clients.traffic import prediction_rows
from api.data import DataError

ROOT = Path(__file__).resolve().parents[3]


def test_rows_are_predict_bodies_the_api_accepts(client: TestClient, dataset_source: str) -> None:
    rows = prediction_rows(dataset_source)[:50]
    assert all(client.post("/predict", json=row).status_code == 200 for row in rows)


def test_with_the_api_down_it_asks_whether_the_api_runs_there() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"  # free: nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "api.clients.traffic", "--url", url, "--count", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"is the API running at {url}?" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_period_replays_that_month_in_time_order(dataset_source: str) -> None:
    rows = prediction_rows(dataset_source, period="2011-07")
    assert len(rows) > 700 and {r["dteday"][:7] for r in rows} == {"2011-07"}
    assert [(r["dteday"], r["hr"]) for r in rows] == sorted((r["dteday"], r["hr"]) for r in rows)
    with pytest.raises(DataError, match="no hour of the dataset in 2013-01"):
        prediction_rows(dataset_source, period="2013-01")
