"""A rate over a fixed 5m window instead of Grafana's $__rate_interval."""

from api.metrics import API_REQUESTS
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

EXPECTED = ("rate-interval", "rate() over 5m")

dashboard = dashboard(
    "Fixed rate window",
    "Broken on purpose.",
    [
        Section(
            "Traffic",
            [
                timeseries(
                    "Requests",
                    "Fixed window.",
                    query(promql.rate(API_REQUESTS, by=(), window="5m")),
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                )
            ],
        )
    ],
)
