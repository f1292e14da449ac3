"""A query on a datasource other than the provisioned Prometheus uid."""

import attr

from api.metrics import API_REQUESTS
from bikewatch import promql
from bikewatch.grafana import Section, Unit, dashboard, query, timeseries

EXPECTED = ("datasource", "datasource")

_elsewhere = {"type": "prometheus", "uid": "someone-elses-prometheus"}
_panel = timeseries(
    "Requests",
    "Another datasource.",
    Unit.REQUESTS_PER_SECOND,
    attr.evolve(query(promql.rate(API_REQUESTS, by=())), datasource=_elsewhere),
)

dashboard = dashboard(
    "Foreign datasource",
    "Broken on purpose.",
    [Section("Traffic", [attr.evolve(_panel, dataSource=_elsewhere)])],
)
