"""The shared PromQL helpers build expressions from metric objects and refuse misuse."""

from __future__ import annotations

import pytest

from api.metrics import (
    API_ACTIVE_REQUESTS,
    API_REQUEST_DURATION,
    API_REQUESTS,
    MODEL_INFERENCE_DURATION,
    MODEL_RMSE,
)
from authoring import promql


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


def test_avg_by_and_predict_linear_and_age() -> None:
    from api.metrics import MODEL_LAST_EVALUATION_TIMESTAMP
    from authoring.node_exporter import FILESYSTEM_AVAIL_BYTES

    assert promql.avg_by("x", ("job",)) == "avg by (job) (x)"
    assert promql.predict_linear(FILESYSTEM_AVAIL_BYTES, window="6h", seconds=86400, job="n") == (
        f'predict_linear({FILESYSTEM_AVAIL_BYTES.name}{{job="n"}}[6h], 86400)'
    )
    assert promql.age(MODEL_LAST_EVALUATION_TIMESTAMP) == (
        f"time() - {MODEL_LAST_EVALUATION_TIMESTAMP.name}"
    )
    assert promql.age(MODEL_LAST_EVALUATION_TIMESTAMP, "9d", job="a") == (
        f'time() - max_over_time({MODEL_LAST_EVALUATION_TIMESTAMP.name}{{job="a"}}[9d])'
    )
    with pytest.raises(TypeError, match="only gauges"):
        promql.predict_linear(API_REQUESTS, window="1h", seconds=60)
    with pytest.raises(TypeError, match="timestamp"):
        promql.age(API_ACTIVE_REQUESTS)
    with pytest.raises(TypeError, match="timestamp"):
        promql.latest(API_ACTIVE_REQUESTS, "1h")


def test_label_values_is_a_grafana_variable_query_on_an_existing_label() -> None:
    assert promql.label_values(API_REQUESTS, "endpoint", job="bike-api") == (
        f'label_values({API_REQUESTS.name}{{job="bike-api"}}, endpoint)'
    )
    assert promql.label_values(API_REQUESTS, "instance").endswith(", instance)")
    with pytest.raises(ValueError, match="no label"):
        promql.label_values(API_REQUESTS, "feature")


def test_across_replicas_removes_the_replica_labels_and_keeps_the_unit() -> None:
    expr = promql.across_replicas(promql.sel(MODEL_RMSE, job="bike-api"), "min")
    assert expr == 'min without (instance, pod) (model_rmse_score{job="bike-api"})'
    assert expr.unit == "rentals"


def test_per_replica_keeps_what_names_a_replica() -> None:
    expr = promql.per_replica(promql.sel(API_ACTIVE_REQUESTS, job="bike-api"))
    assert expr == 'max by (namespace, job, instance, pod) (api_active_requests{job="bike-api"})'
    assert expr.unit == "requests"
