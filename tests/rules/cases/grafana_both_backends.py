"""An alert compiled for both backends: the Grafana provisioning file (A -> B -> C) and the
Prometheus rule, with `$value` rewritten for Grafana's templates."""

from api.metrics import MODEL_DRIFTED_FEATURES_RATIO
from bikewatch.promql import sel
from rules_py.dsl import BOTH, AlertingRule, AlertTest, Fired, RuleGroup, Series, Threshold

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseDrift",
                threshold=Threshold(sel(MODEL_DRIFTED_FEATURES_RATIO, job="bike-api"), ">=", 0.3),
                for_="1m",
                severity="warning",
                summary="drift on {{ $labels.instance }}",
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
                        onset="1m",
                        fired=(
                            Fired(
                                {"job": "bike-api", "instance": "a:1"},
                                "drift on a:1",
                                "50% drifted",
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
