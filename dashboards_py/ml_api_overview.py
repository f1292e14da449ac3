"""ML API Overview: the eight panels of the ML API monitoring brief, and the live input drift,
on one screen."""

from __future__ import annotations

from api.metrics import MODEL_LIVE_DRIFTED_FEATURES_RATIO
from authoring import config, promql
from authoring import node_exporter as node
from authoring.house_style import (
    GrafanaUnit,
    Section,
    above,
    below,
    dashboard,
    query,
    stat,
    value_text,
)
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
                    "How many replicas of bike-api Prometheus's last scrape reached (1 in "
                    "compose); down (red) when none did.",
                    query(promql.across_replicas(promql.sel(node.UP, job=JOB), "sum")),
                    mappings=value_text({0: ("down", "red")}),
                    thresholds=below(1),
                    unit=GrafanaUnit.COUNT,
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
                stat(
                    "Live input drift",
                    "Share of the input features drifted over the last /predict requests, "
                    "against the model's reference (no label needed; the most drifted "
                    "replica's window); red at the drift "
                    "threshold. Details: the Model dashboard's Live inputs row. No data until "
                    "the live window holds LIVE_DRIFT_MIN_ROWS requests.",
                    query(
                        promql.across_replicas(
                            promql.sel(MODEL_LIVE_DRIFTED_FEATURES_RATIO, job=JOB)
                        )
                    ),
                    unit=GrafanaUnit.RATIO,
                    thresholds=above(config.DRIFT_SHARE_THRESHOLD),
                ),
            ],
        ),
    ],
    tags=["api", "model"],
)
