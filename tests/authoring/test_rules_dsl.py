"""The rules DSL's small parts: durations, numbers, record names, and units carried by queries."""

from __future__ import annotations

import pytest

from api.metrics import API_REQUEST_DURATION, API_REQUESTS, MODEL_RMSE
from authoring.promql import histogram_quantile, sel
from authoring.rules_dsl import (
    RecordingRule,
    Threshold,
    format_duration,
    format_number,
    parse_duration,
    record_name,
)


@pytest.mark.parametrize(
    ("text", "seconds"), [("1m", 60), ("1h30m", 5400), ("9d", 777600), ("0s", 0), ("10m", 600)]
)
def test_durations_round_trip(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "5", "1x", "m5", "1.5m"])
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_numbers_are_written_as_promql_and_grafana_do() -> None:
    assert [format_number(v) for v in (100.0, 0.05, 1e-3, -2)] == ["100", "0.05", "0.001", "-2"]


def test_record_names_derive_from_the_metric() -> None:
    assert record_name("job", API_REQUESTS, "rate5m") == "job:api_requests:rate5m"
    assert record_name("job", API_REQUESTS, "ratio_rate5m", "_5xx") == (
        "job:api_requests_5xx:ratio_rate5m"
    )


def test_units_travel_with_queries_records_and_thresholds() -> None:
    assert Threshold(sel(MODEL_RMSE), ">", 100).query_unit == "rentals"
    latency = RecordingRule("job:x:p95_5m", histogram_quantile(0.95, API_REQUEST_DURATION))
    assert latency.sel(job="a").unit == "seconds"
    assert Threshold(latency.sel(), ">", 0.25).query_unit == "seconds"
    # A composed query knows nothing until its author says.
    assert Threshold(f"{sel(MODEL_RMSE)} * 2", ">", 1).query_unit is None
    assert Threshold(f"{sel(MODEL_RMSE)} * 2", ">", 1, unit="rentals").query_unit == "rentals"
