"""ML API Overview: the eight panels of the ML API monitoring brief, on one screen."""

from __future__ import annotations

from authoring import config, promql
from authoring import node_exporter as node
from authoring.house_style import Section, dashboard, query, stat, value_text
from dashboards_py import _shared_panels as panels

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
                    query(promql.sel(node.UP, job=JOB)),
                    mappings=value_text({0: ("down", "red"), 1: ("up", "green")}),
                    sparkline=False,
                ),
                panels.loaded_model("Model status"),
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
