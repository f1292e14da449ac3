"""A query on a datasource other than the provisioned Prometheus uid."""

import attr

from api.metrics import API_REQUESTS
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

EXPECTED = ("datasource", "datasource")

_elsewhere = {"type": "prometheus", "uid": "someone-elses-prometheus"}
_panel = timeseries(
    "Requests",
    "Another datasource.",
    attr.evolve(query(promql.rate(API_REQUESTS, by=())), datasource=_elsewhere),
    unit=GrafanaUnit.REQUESTS_PER_SECOND,
)

dashboard = dashboard(
    "Foreign datasource",
    "Broken on purpose.",
    [Section("Traffic", [attr.evolve(_panel, dataSource=_elsewhere)])],
)
