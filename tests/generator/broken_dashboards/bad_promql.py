"""A query with an unclosed parenthesis."""

from api.metrics import API_REQUESTS
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

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
                    query(f"sum(rate({API_REQUESTS.name}[$__rate_interval])"),
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                )
            ],
        )
    ],
)
