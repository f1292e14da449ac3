"""An alert compiled for both backends: the Grafana provisioning file (A -> B -> C) and the
Prometheus rule, with `$value` rewritten for Grafana's templates."""

from api.metrics import MODEL_DRIFTED_FEATURES_RATIO
from authoring.promql import across_replicas, sel
from authoring.rules_dsl import BOTH, AlertingRule, AlertTest, Fires, RuleGroup, Series, Threshold

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseDrift",
                threshold=Threshold(
                    across_replicas(sel(MODEL_DRIFTED_FEATURES_RATIO, job="bike-api")), ">=", 0.3
                ),
                for_="1m",
                severity="warning",
                summary="drift on {{ $labels.job }}",
                description="{{ $value | humanizePercentage }} drifted",
                labels={"area": "model"},
                annotations={"dashboard": "model-quality"},
                backends=BOTH,
                tests=(
                    AlertTest(
                        name="half drifted",
                        series=(
                            Series(
                                sel(MODEL_DRIFTED_FEATURES_RATIO, job="bike-api", instance="a:1"),
                                "0 0.5x5",
                            ),
                        ),
                        fires=(Fires({"job": "bike-api"}, 0.5),),
                    ),
                ),
            ),
        ),
    ),
)
