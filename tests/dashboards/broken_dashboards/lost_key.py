"""A misspelt panel option: Grafana's typed model does not know it and would drop it."""

import attr

from api.metrics import API_REQUESTS
from bikewatch import promql
from bikewatch.grafana import Section, Unit, dashboard, query, timeseries

EXPECTED = ("unknown-key", "options.legend.placment is unknown")

_panel = timeseries(
    "Requests",
    "Legend option misspelt.",
    Unit.REQUESTS_PER_SECOND,
    query(promql.rate(API_REQUESTS, by=())),
)

dashboard = dashboard(
    "Lost key",
    "Broken on purpose.",
    [
        Section(
            "Traffic",
            [attr.evolve(_panel, extraJson={"options": {"legend": {"placment": "right"}}})],
        )
    ],
)
