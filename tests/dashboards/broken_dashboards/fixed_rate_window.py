"""A rate over a fixed 5m window instead of Grafana's $__rate_interval."""

from api.metrics import API_REQUESTS
from bikewatch import promql
from bikewatch.grafana import Section, Unit, dashboard, query, timeseries

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
                    Unit.REQUESTS_PER_SECOND,
                    query(promql.rate(API_REQUESTS, by=(), window="5m")),
                )
            ],
        )
    ],
)
