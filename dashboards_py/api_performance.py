"""API Performance: traffic, latency percentiles, error ratios and concurrency of bike-api."""

from __future__ import annotations

from api.metrics import API_ACTIVE_REQUESTS, API_ERRORS, API_REQUEST_DURATION, API_REQUESTS
from bikewatch import config, promql
from bikewatch.grafana import Section, Unit, above, dashboard, query, stat, timeseries

JOB = config.API_JOB
_SERVER_ERRORS = "~" + config.API_ERROR_STATUS_REGEX
_CLIENT_ERRORS = "~" + config.API_CLIENT_ERROR_STATUS_REGEX
_ALL = promql.rate(API_REQUESTS, by=(), job=JOB)


def _ratio(status: str) -> str:
    return f"{promql.rate(API_REQUESTS, by=(), job=JOB, status_code=status)} / {_ALL}"


def _latency(q: float, by: tuple[str, ...] = ()) -> str:
    return promql.histogram_quantile(q, API_REQUEST_DURATION, by=by, job=JOB)


dashboard = dashboard(
    "API Performance",
    "bike-api as its clients see it: how much traffic, how fast, how often it fails.",
    [
        Section(
            "Now",
            [
                stat(
                    "Requests per second",
                    "All requests, all endpoints, over the rate interval.",
                    Unit.REQUESTS_PER_SECOND,
                    query(_ALL),
                ),
                stat(
                    "p95 latency",
                    "95th percentile of request latency over all endpoints; the alert limit "
                    "colours it red.",
                    Unit.SECONDS,
                    query(_latency(0.95)),
                    thresholds=above(config.API_LATENCY_P95_MAX_SECONDS),
                ),
                stat(
                    "5xx ratio",
                    "Share of requests answered with a server error (the alerting ratio).",
                    Unit.RATIO,
                    query(_ratio(_SERVER_ERRORS)),
                    thresholds=above(config.API_ERROR_RATIO_MAX),
                ),
                stat(
                    "Active requests",
                    "Requests in flight right now, summed over API processes.",
                    Unit.COUNT,
                    query(promql.sum_by(promql.sel(API_ACTIVE_REQUESTS, job=JOB))),
                    thresholds=above(config.API_ACTIVE_REQUESTS_MAX),
                ),
            ],
        ),
        Section(
            "Traffic",
            [
                timeseries(
                    "Request rate by endpoint",
                    "Requests per second per route template (bounded: no raw paths).",
                    Unit.REQUESTS_PER_SECOND,
                    query(promql.rate(API_REQUESTS, by=("endpoint",), job=JOB), "{{endpoint}}"),
                ),
                timeseries(
                    "Status codes",
                    "Requests per second by HTTP status code, stacked: the total is the traffic.",
                    Unit.REQUESTS_PER_SECOND,
                    query(
                        promql.rate(API_REQUESTS, by=("status_code",), job=JOB), "{{status_code}}"
                    ),
                    stacked=True,
                ),
            ],
        ),
        Section(
            "Latency",
            [
                timeseries(
                    "Latency p50 / p95 / p99",
                    "Request latency percentiles over all endpoints, from the histogram "
                    "buckets; the dashed line is the p95 alert limit.",
                    Unit.SECONDS,
                    query(_latency(0.5), "p50"),
                    query(_latency(0.95), "p95"),
                    query(_latency(0.99), "p99"),
                    thresholds=above(config.API_LATENCY_P95_MAX_SECONDS),
                ),
                timeseries(
                    "p95 latency by endpoint",
                    "95th percentile latency per route template: /evaluate is slow by design "
                    "(it builds an Evidently report), /predict must stay fast.",
                    Unit.SECONDS,
                    query(_latency(0.95, ("endpoint",)), "{{endpoint}}"),
                ),
            ],
        ),
        Section(
            "Errors",
            [
                timeseries(
                    "Error ratio (4xx and 5xx)",
                    "Share of requests answered with a client error (4xx: the caller's "
                    "mistake) and with a server error (5xx: ours); the dashed line is the 5xx "
                    "alert limit.",
                    Unit.RATIO,
                    query(_ratio(_CLIENT_ERRORS), "4xx"),
                    query(_ratio(_SERVER_ERRORS), "5xx"),
                    thresholds=above(config.API_ERROR_RATIO_MAX),
                    min_value=0,
                ),
                timeseries(
                    "Errors by type",
                    "Failed requests per second by error type (validation, payload too large, "
                    "model not loaded, busy, internal...).",
                    Unit.REQUESTS_PER_SECOND,
                    query(promql.rate(API_ERRORS, by=("error_type",), job=JOB), "{{error_type}}"),
                    stacked=True,
                ),
                timeseries(
                    "Active requests",
                    "Requests in flight over time; a rising floor means requests queue.",
                    Unit.COUNT,
                    query(promql.sum_by(promql.sel(API_ACTIVE_REQUESTS, job=JOB)), "in flight"),
                    thresholds=above(config.API_ACTIVE_REQUESTS_MAX),
                    min_value=0,
                    width=24,
                ),
            ],
        ),
    ],
    tags=["api"],
)
