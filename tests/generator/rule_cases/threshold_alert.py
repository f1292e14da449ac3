"""A Prometheus alert on a threshold: rule file, and a test pinning the for: boundary."""

from api.metrics import MODEL_RMSE
from authoring.promql import across_replicas, sel
from authoring.rules_dsl import AlertingRule, AlertTest, Fires, RuleGroup, Series, Threshold

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseRmseHigh",
                threshold=Threshold(across_replicas(sel(MODEL_RMSE, job="bike-api")), ">", 100),
                for_="2m",
                severity="warning",
                summary="RMSE high",
                description="RMSE is {{ $value }} on {{ $labels.job }}",
                tests=(
                    AlertTest(
                        name="fires two minutes after the onset",
                        series=(
                            Series(sel(MODEL_RMSE, job="bike-api", instance="a:1"), "0 150x5"),
                        ),
                        # The onset (1m, where the gauge passes 100) is derived from the series.
                        fires=(Fires({"job": "bike-api"}, 150),),
                    ),
                ),
            ),
        ),
    ),
)
