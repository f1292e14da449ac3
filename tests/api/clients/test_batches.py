"""The clients' batches: the exam's weeks and the July drill batch, as /evaluate bodies."""

from __future__ import annotations

import pandas as pd
import pytest

from api.clients.batches import (
    SAMPLE_SIZE,
    WEEKLY_PERIODS,
    api_url,
    evaluation_payload,
    shifted_payload,
)
from api.config import FEATURES, TARGET
from api.data import load_hourly


@pytest.fixture(scope="module")
def hourly(dataset_source: str) -> pd.DataFrame:
    return load_hourly(dataset_source)


def test_the_exam_weeks_are_whole_and_shaped_like_the_exam_payload(hourly: pd.DataFrame) -> None:
    sizes = {}
    for name, (start, end) in WEEKLY_PERIODS.items():
        payload = evaluation_payload(hourly, name, start, end)
        assert payload["evaluation_period_name"] == name
        sizes[name] = len(payload["data"])
        for record in payload["data"]:
            assert set(record) == {*FEATURES, TARGET, "dteday"}
            assert isinstance(record["dteday"], str) and len(record["dteday"]) == 10
    # Under SAMPLE_SIZE rows each, so nothing is sampled: every hour of the week is sent.
    assert sizes == {"week1_february": 235, "week2_february": 163, "week3_february": 165}


def test_larger_periods_are_sampled_reproducibly(hourly: pd.DataFrame) -> None:
    first = evaluation_payload(hourly, "x", "2011-03-01", "2011-06-30")
    again = evaluation_payload(hourly, "x", "2011-03-01", "2011-06-30")
    assert len(first["data"]) == SAMPLE_SIZE
    assert first == again


def test_the_shifted_batch_is_july_2011(dataset_source: str) -> None:
    payload = shifted_payload(dataset_source)
    months = {record["mnth"] for record in payload["data"]}
    assert months == {7}
    assert len(payload["data"]) == 744


def test_api_url_prefers_the_flag_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_URL", raising=False)
    assert api_url(None) == "http://localhost:8080"
    monkeypatch.setenv("API_URL", "http://bike-api:8080/")
    assert api_url(None) == "http://bike-api:8080"
    assert api_url("http://127.0.0.1:9000") == "http://127.0.0.1:9000"
