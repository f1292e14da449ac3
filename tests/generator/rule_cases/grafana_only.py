"""A Grafana-only alert: no Prometheus rule file, no promtool test, only the provisioning file."""

from api.metrics import MODEL_RMSE
from authoring.promql import across_replicas, sel
from authoring.rules_dsl import GRAFANA, AlertingRule, RuleGroup, Threshold

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseRmseGrafana",
                threshold=Threshold(across_replicas(sel(MODEL_RMSE)), "<", 5),
                for_="5m",
                severity="critical",
                summary="suspiciously low RMSE",
                description="RMSE {{ $value }}",
                backends=GRAFANA,
            ),
        ),
    ),
)
