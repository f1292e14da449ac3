"""A free expression over gauges: the build cannot tell when it first holds, the test must say."""

from dataclasses import replace

from api.metrics import MODEL_R2, MODEL_RMSE
from authoring.promql import sel
from authoring.rules_dsl import AlertingRule, AlertTest, Fires, RuleGroup, Series

both = AlertingRule(
    name="CaseBadModel",
    expression=f"{sel(MODEL_R2)} < 0.3 and {sel(MODEL_RMSE)} > 100",
    for_="1m",
    severity="warning",
    summary="bad model",
    description="R2 is {{ $value }}",
    tests=(
        AlertTest(
            name="both scores bad",
            series=(Series(sel(MODEL_R2), "0.8 0.1x5"), Series(sel(MODEL_RMSE), "20 150x5")),
            onset="1m",
            fires=(Fires({}, 0.1),),
        ),
    ),
)
# The same test without its onset.
groups = (RuleGroup("case", (replace(both, tests=(replace(both.tests[0], onset=None),)),)),)
