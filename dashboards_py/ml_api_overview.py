"""ML API Overview: the eight panels of the ML API monitoring brief, on one screen."""

from __future__ import annotations

from bikewatch import config, panels, promql
from bikewatch import node_exporter as node
from bikewatch.grafana import Section, Unit, dashboard, query, stat, value_text

JOB = config.API_JOB

dashboard = dashboard(
    "ML API Overview",
    "bike-api at a glance: is it up, is the model loaded, how much traffic, how fast, what it "
    "predicts and how often it fails.",
    [
        Section(
            "Status",
            [
                stat(
                    "API status",
                    "Whether Prometheus's last scrape of bike-api succeeded.",
                    Unit.NONE,
                    query(promql.sel(node.UP, job=JOB)),
                    mappings=value_text({0: ("down", "red"), 1: ("up", "green")}),
                    sparkline=False,
                ),
                panels.model_loaded("Model status"),
                panels.active_requests(),
                panels.server_error_ratio("Error rate (5xx)"),
            ],
        ),
        Section(
            "Traffic and latency",
            [panels.request_rate_by_endpoint("Request rate"), panels.latency_percentiles()],
        ),
        Section(
            "Model",
            [
                panels.inference_percentiles(),
                panels.predicted_rentals_distribution("Prediction distribution"),
            ],
        ),
    ],
    tags=["api", "model"],
)
