"""A recording rule's own test: promtool's expression test of the samples it records."""

from api.metrics import MODEL_RMSE
from authoring.promql import sel
from authoring.rules_dsl import RecordingRule, RecordTest, RuleGroup, Sample, Series

groups = (
    RuleGroup(
        "case",
        (
            RecordingRule(
                "job:model_rmse_score:max",
                f"max by (job) ({sel(MODEL_RMSE)})",
                labels={"source": "evaluation"},
                tests=(
                    RecordTest(
                        "the worst instance",
                        (
                            Series(sel(MODEL_RMSE, job="bike-api", instance="a:1"), "40x5"),
                            Series(sel(MODEL_RMSE, job="bike-api", instance="b:1"), "90x5"),
                        ),
                        at="3m",
                        samples=(Sample({"job": "bike-api", "source": "evaluation"}, 90),),
                    ),
                ),
            ),
        ),
    ),
)
