"""A misspelt panel option: Grafana's typed model does not know it and would drop it."""

import attr

from api.metrics import API_REQUESTS
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

EXPECTED = ("unknown-key", "options.legend.placment is unknown")

_panel = timeseries(
    "Requests",
    "Legend option misspelt.",
    query(promql.rate(API_REQUESTS, by=())),
    unit=GrafanaUnit.REQUESTS_PER_SECOND,
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
