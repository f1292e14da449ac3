"""The shared PromQL helpers build expressions from metric objects and refuse misuse."""

from __future__ import annotations

import pytest

from api.metrics import (
    API_ACTIVE_REQUESTS,
    API_REQUEST_DURATION,
    API_REQUESTS,
    MODEL_INFERENCE_DURATION,
)
from bikewatch import promql


def test_rate_sums_by_labels_over_grafana_interval() -> None:
    expr = promql.rate(API_REQUESTS, by=("endpoint",), job="bike-api")
    assert expr == (
        f'sum by (endpoint) (rate({API_REQUESTS.name}{{job="bike-api"}}[$__rate_interval]))'
    )


def test_rate_without_by_is_not_aggregated() -> None:
    assert promql.rate(API_REQUESTS, window="5m") == f"rate({API_REQUESTS.name}[5m])"


def test_matcher_operators() -> None:
    assert promql.matchers({"status_code": "~5..", "job": "!=x"}) == '{job!="x",status_code=~"5.."}'


def test_histogram_quantile_keeps_le() -> None:
    expr = promql.histogram_quantile(0.99, MODEL_INFERENCE_DURATION, window="5m")
    assert expr == (
        f"histogram_quantile(0.99, sum by (le) (rate({MODEL_INFERENCE_DURATION.bucket}[5m])))"
    )


def test_rate_of_gauge_is_refused() -> None:
    with pytest.raises(TypeError, match="gauge"):
        promql.rate(API_ACTIVE_REQUESTS)


def test_rate_of_histogram_needs_a_series() -> None:
    with pytest.raises(TypeError, match="series"):
        promql.rate(API_REQUEST_DURATION)
    assert promql.rate(API_REQUEST_DURATION, series=API_REQUEST_DURATION.count, window="1m") == (
        f"rate({API_REQUEST_DURATION.count}[1m])"
    )


def test_selector_refuses_foreign_series() -> None:
    with pytest.raises(ValueError, match="not a series"):
        promql.sel(API_REQUESTS, series=API_REQUEST_DURATION.bucket)
