"""API Performance: traffic, latency percentiles, error ratios and concurrency of bike-api."""

from __future__ import annotations

from api.metrics import API_ACTIVE_REQUESTS, API_ERRORS, API_REQUEST_DURATION, API_REQUESTS
from authoring import config, promql
from authoring.house_style import GrafanaUnit, Section, above, dashboard, query, stat, timeseries
from dashboards_py import _shared_panels as panels

JOB = config.API_JOB


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
                    query(promql.rate(API_REQUESTS, by=(), job=JOB)),
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                ),
                panels.latency_p95(),
                panels.server_error_ratio(),
                panels.active_requests(),
            ],
        ),
        Section(
            "Traffic",
            [
                panels.request_rate_by_endpoint(),
                timeseries(
                    "Status codes",
                    "Requests per second by HTTP status code, stacked: the total is the traffic.",
                    query(
                        promql.rate(API_REQUESTS, by=("status_code",), job=JOB), "{{status_code}}"
                    ),
                    stacked=True,
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                ),
            ],
        ),
        Section(
            "Latency",
            [
                panels.latency_percentiles(),
                timeseries(
                    "p95 latency by endpoint",
                    "95th percentile latency per route template: /evaluate is slow by design "
                    "(it builds an Evidently report), /predict must stay fast.",
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
                    query(panels.status_ratio(config.API_CLIENT_ERROR_STATUS_REGEX), "4xx"),
                    query(panels.status_ratio(config.API_ERROR_STATUS_REGEX), "5xx"),
                    thresholds=above(config.API_ERROR_RATIO_MAX),
                    min_value=0,
                    unit=GrafanaUnit.RATIO,
                ),
                timeseries(
                    "Errors by type",
                    "Failed requests per second by error type (validation, payload too large, "
                    "model not loaded, busy, internal...).",
                    query(promql.rate(API_ERRORS, by=("error_type",), job=JOB), "{{error_type}}"),
                    stacked=True,
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                ),
                timeseries(
                    "Active requests",
                    "Requests in flight over time; a rising floor means requests queue.",
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
