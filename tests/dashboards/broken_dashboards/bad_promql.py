"""A query with an unclosed parenthesis."""

from api.metrics import API_REQUESTS
from bikewatch.grafana import Section, Unit, dashboard, query, timeseries

EXPECTED = ("promql-parse", "does not parse")

dashboard = dashboard(
    "Bad PromQL",
    "Broken on purpose.",
    [
        Section(
            "Traffic",
            [
                timeseries(
                    "Requests",
                    "Unclosed parenthesis.",
                    Unit.REQUESTS_PER_SECOND,
                    query(f"sum(rate({API_REQUESTS.name}[$__rate_interval])"),
                )
            ],
        )
    ],
)
