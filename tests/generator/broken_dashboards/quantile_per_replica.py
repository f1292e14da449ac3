"""A latency quantile per replica, then averaged: the mean of three p95s is no p95 (quantiles
cannot be combined, buckets can: `sum by (le)` first)."""

from api.metrics import API_REQUEST_DURATION
from authoring import promql
from authoring.house_style import Section, dashboard, query, timeseries

EXPECTED = ("replica-safety", "histogram_quantile() of something other than `sum by (le")

_per_replica = promql.rate(API_REQUEST_DURATION, series=API_REQUEST_DURATION.bucket, job="bike-api")

dashboard = dashboard(
    "Quantile per replica",
    "Broken on purpose.",
    [
        Section(
            "Latency",
            [
                timeseries(
                    "p95",
                    "Latency.",
                    query(
                        promql.Expr(
                            f"avg without (instance) (histogram_quantile(0.95, {_per_replica}))",
                            "seconds",
                        )
                    ),
                )
            ],
        )
    ],
)
