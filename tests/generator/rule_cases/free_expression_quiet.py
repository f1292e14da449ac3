"""A free expression (no threshold) and a test of data that must never fire (`quiet_at`)."""

from api.metrics import MODEL_EVALUATION_ROWS, MODEL_R2
from authoring.promql import across_replicas, sel
from authoring.rules_dsl import AlertingRule, AlertTest, Fires, RuleGroup, Series

groups = (
    RuleGroup(
        "case",
        (
            AlertingRule(
                name="CaseR2Low",
                expression=across_replicas(
                    f"{sel(MODEL_R2)} < 0.3 and {sel(MODEL_EVALUATION_ROWS)} > 0"
                ),
                for_="1m",
                severity="info",
                summary="R2 low",
                description="R2 is {{ $value }}",
                tests=(
                    AlertTest(
                        name="fires",
                        series=(
                            Series(sel(MODEL_R2), "0.5 0.1x5"),
                            Series(sel(MODEL_EVALUATION_ROWS), "10x5"),
                        ),
                        # A free expression: the onset cannot be derived, it is stated.
                        onset="1m",
                        fires=(Fires({}, 0.1),),
                    ),
                    AlertTest(
                        name="never evaluated",
                        series=(
                            Series(sel(MODEL_R2), "0x5"),
                            Series(sel(MODEL_EVALUATION_ROWS), "0x5"),
                        ),
                        quiet_at=("3m", "5m"),
                    ),
                ),
            ),
        ),
    ),
)
