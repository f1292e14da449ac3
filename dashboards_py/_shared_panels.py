"""Panels shown on more than one dashboard, defined once so their copies cannot drift apart.

The ML API Overview repeats, on one screen, panels whose home is API Performance or Model
Performance & Drift; each dashboard calls these builders instead of restating the query,
unit, description and threshold. A `title` argument lets the overview keep the panel names of
the ML API monitoring brief it reproduces. The leading underscore keeps the build from reading
this module as a dashboard; it reads the recording rules of `rules_py`, as dashboards do.
"""

from __future__ import annotations

from grafanalib import core as g

from api.metrics import (
    API_ACTIVE_REQUESTS,
    API_REQUESTS,
    MODEL_INFERENCE_DURATION,
    MODEL_LOADED,
    MODEL_PREDICTED_RENTALS,
)
from authoring import config, promql
from authoring.house_style import (
    WHOLE_RANGE,
    GrafanaUnit,
    above,
    bar_gauge,
    query,
    stat,
    timeseries,
    value_text,
)
from rules_py.api import REQUEST_ERROR_RATIO, REQUEST_LATENCY

__all__ = [
    "active_requests",
    "inference_percentiles",
    "latency_p95",
    "latency_percentiles",
    "loaded_model",
    "predicted_rentals_distribution",
    "request_rate_by_endpoint",
    "server_error_ratio",
    "status_ratio",
]

JOB = config.API_JOB
_CLIENT = {"job": JOB, "endpoint": "!~" + config.API_PROBE_ENDPOINTS}
_PERCENTILES = ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))


def status_ratio(status_regex: str) -> str:
    """Share of client requests (probes excluded, as in the alert) whose status code matches
    `status_regex`; 0 rather than no value before the first such answer."""
    matching = promql.rate(API_REQUESTS, by=(), status_code="~" + status_regex, **_CLIENT)
    total = promql.rate(API_REQUESTS, by=(), **_CLIENT)
    return f"({matching} or {total} * 0) / {total}"


def request_rate_by_endpoint(title: str = "Request rate by endpoint") -> g.Panel:
    return timeseries(
        title,
        "Requests per second per route template (bounded: no raw paths).",
        query(promql.rate(API_REQUESTS, by=("endpoint",), job=JOB), "{{endpoint}}"),
        unit=GrafanaUnit.REQUESTS_PER_SECOND,
    )


def latency_percentiles() -> g.Panel:
    return timeseries(
        "Latency p50 / p95 / p99",
        "Latency percentiles of the serving path (every endpoint but /evaluate and the "
        "probes), from the recording rules; the dashed line is the p95 alert limit.",
        *(query(REQUEST_LATENCY[q].sel(job=JOB), label) for q, label in _PERCENTILES),
        thresholds=above(config.API_LATENCY_P95_MAX_SECONDS),
    )


def latency_p95() -> g.Panel:
    return stat(
        "p95 latency",
        "95th percentile latency of the serving path (every endpoint but /evaluate and the "
        "probes); the alert limit colours it red.",
        query(REQUEST_LATENCY[0.95].sel(job=JOB)),
        thresholds=above(config.API_LATENCY_P95_MAX_SECONDS),
    )


def active_requests() -> g.Panel:
    return stat(
        "Active requests",
        "Requests in flight right now, summed over API processes; red when requests queue.",
        query(promql.sum_by(promql.sel(API_ACTIVE_REQUESTS, job=JOB))),
        thresholds=above(config.API_ACTIVE_REQUESTS_MAX),
    )


def server_error_ratio(title: str = "5xx ratio") -> g.Panel:
    return stat(
        title,
        "Share of client requests (probes excluded) answered with a server error over 5 "
        "minutes: the ratio the alert reads; red past its limit.",
        query(REQUEST_ERROR_RATIO.sel(job=JOB)),
        thresholds=above(config.API_ERROR_RATIO_MAX),
    )


def loaded_model(title: str = "Model loaded") -> g.Panel:
    return stat(
        title,
        "Whether every replica of the API has a model artifact loaded; one without it "
        "answers its share of /predict with 503.",
        query(promql.across_replicas(promql.sel(MODEL_LOADED, job=JOB), "min")),
        mappings=value_text({0: ("not loaded", "red"), 1: ("loaded", "green")}),
        sparkline=False,
    )


def inference_percentiles() -> g.Panel:
    return timeseries(
        "Inference time p50 / p95 / p99",
        "Time spent in the model per prediction; the dashed line is the p95 alert limit.",
        *(
            query(promql.histogram_quantile(q, MODEL_INFERENCE_DURATION, job=JOB), label)
            for q, label in _PERCENTILES
        ),
        thresholds=above(config.INFERENCE_P95_MAX_SECONDS),
    )


def predicted_rentals_distribution(title: str = "Predicted rentals distribution") -> g.Panel:
    return bar_gauge(
        title,
        "How many /predict answers fell in each bucket of predicted hourly rentals over the "
        "picked time range (upper bucket bound shown).",
        query(
            promql.increase(
                MODEL_PREDICTED_RENTALS,
                series=MODEL_PREDICTED_RENTALS.bucket,
                by=("le",),
                window=WHOLE_RANGE,
                job=JOB,
            ),
            "{{le}}",
            instant=True,
            heatmap=True,
        ),
        vertical=True,
        unit=GrafanaUnit.COUNT,
    )
