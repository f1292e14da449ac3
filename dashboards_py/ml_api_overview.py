"""ML API Overview: the eight panels of the ML API monitoring brief, on one screen."""

from __future__ import annotations

from api.metrics import (
    API_ACTIVE_REQUESTS,
    API_REQUEST_DURATION,
    API_REQUESTS,
    MODEL_INFERENCE_DURATION,
    MODEL_LOADED,
    MODEL_PREDICTED_RENTALS,
)
from bikewatch import config, promql
from bikewatch import node_exporter as node
from bikewatch.grafana import (
    WHOLE_RANGE,
    Section,
    Unit,
    above,
    bar_gauge,
    dashboard,
    query,
    stat,
    timeseries,
    value_text,
)

JOB = config.API_JOB
_ALL = promql.rate(API_REQUESTS, by=(), job=JOB)


def _ratio(status_regex: str) -> str:
    return f"{promql.rate(API_REQUESTS, by=(), job=JOB, status_code='~' + status_regex)} / {_ALL}"


dashboard = dashboard(
    "ML API Overview",
    "bike-api at a glance: is it up, is the model loaded, how much traffic, how fast, what it "
    "predicts and how often it fails.",
    [
        Section(
            "Status",
            [
                stat(
                    "API status",
                    "Whether Prometheus's last scrape of bike-api succeeded.",
                    Unit.NONE,
                    query(promql.sel(node.UP, job=JOB)),
                    mappings=value_text({0: ("down", "red"), 1: ("up", "green")}),
                    sparkline=False,
                ),
                stat(
                    "Model status",
                    "Whether the API has a model loaded; without it /predict answers 503.",
                    Unit.NONE,
                    query(promql.sel(MODEL_LOADED, job=JOB)),
                    mappings=value_text({0: ("not loaded", "red"), 1: ("loaded", "green")}),
                    sparkline=False,
                ),
                stat(
                    "Active requests",
                    "Requests in flight right now; red when requests queue.",
                    Unit.COUNT,
                    query(promql.sum_by(promql.sel(API_ACTIVE_REQUESTS, job=JOB))),
                    thresholds=above(config.API_ACTIVE_REQUESTS_MAX),
                ),
                stat(
                    "Error rate (5xx)",
                    "Share of requests answered with a server error; red past the alert limit.",
                    Unit.RATIO,
                    query(_ratio(config.API_ERROR_STATUS_REGEX)),
                    thresholds=above(config.API_ERROR_RATIO_MAX),
                ),
            ],
        ),
        Section(
            "Traffic and latency",
            [
                timeseries(
                    "Request rate",
                    "Requests per second by route template.",
                    Unit.REQUESTS_PER_SECOND,
                    query(promql.rate(API_REQUESTS, by=("endpoint",), job=JOB), "{{endpoint}}"),
                ),
                timeseries(
                    "Latency p50 / p95 / p99",
                    "Request latency percentiles over all endpoints; the dashed line is the "
                    "p95 alert limit.",
                    Unit.SECONDS,
                    *(
                        query(promql.histogram_quantile(q, API_REQUEST_DURATION, job=JOB), label)
                        for q, label in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))
                    ),
                    thresholds=above(config.API_LATENCY_P95_MAX_SECONDS),
                ),
            ],
        ),
        Section(
            "Model",
            [
                timeseries(
                    "Inference time p50 / p95 / p99",
                    "Time spent in the model per prediction; the dashed line is the p95 alert "
                    "limit.",
                    Unit.SECONDS,
                    *(
                        query(
                            promql.histogram_quantile(q, MODEL_INFERENCE_DURATION, job=JOB), label
                        )
                        for q, label in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99"))
                    ),
                    thresholds=above(config.INFERENCE_P95_MAX_SECONDS),
                ),
                bar_gauge(
                    "Prediction distribution",
                    "How many predictions fell in each bucket of predicted hourly rentals over "
                    "the picked time range (upper bucket bound shown).",
                    Unit.COUNT,
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
                ),
            ],
        ),
    ],
    tags=["api", "model"],
)
