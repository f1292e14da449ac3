"""A Prometheus alert on a threshold: rule file, and a test pinning the for: boundary."""

from api.metrics import MODEL_RMSE
from bikewatch.promql import sel
from rules_py.dsl import AlertingRule, AlertTest, Fired, RuleGroup, Series, Threshold

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseRmseHigh",
                threshold=Threshold(sel(MODEL_RMSE, job="bike-api"), ">", 100),
                for_="2m",
                severity="warning",
                summary="RMSE high",
                description="RMSE is {{ $value }} on {{ $labels.instance }}",
                tests=(
                    AlertTest(
                        name="fires two minutes after the onset",
                        series=(
                            Series(sel(MODEL_RMSE, job="bike-api", instance="a:1"), "0 150x5"),
                        ),
                        onset="1m",
                        fired=(
                            Fired(
                                {"job": "bike-api", "instance": "a:1"},
                                "RMSE high",
                                "RMSE is 150 on a:1",
                            ),
                        ),
                    ),
                ),
            ),
        ),
    ),
)
