"""A query on a metric no catalog defines."""

from api.metrics import MetricSpec
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

# Not in api.metrics nor the node-exporter catalog: the lint must refuse it.
RENTALS = MetricSpec("bike_rentals_total", "counter", "Not a real metric.")
EXPECTED = ("unknown-metric", f"names unknown metric {RENTALS.name}")

dashboard = dashboard(
    "Unknown metric",
    "Broken on purpose.",
    [
        Section(
            "Traffic",
            [
                timeseries(
                    "Rentals",
                    "A metric nobody exports.",
                    query(promql.rate(RENTALS, by=())),
                    unit=GrafanaUnit.REQUESTS_PER_SECOND,
                )
            ],
        )
    ],
)
