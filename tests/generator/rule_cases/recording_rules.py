"""Recording rules in their own group: the alert's test loads that group first (eval order)."""

from api.metrics import API_REQUESTS
from authoring.promql import rate, sel
from authoring.rules_dsl import (
    AlertingRule,
    AlertTest,
    Fires,
    RecordingRule,
    RuleGroup,
    Series,
    Threshold,
    record_name,
)

RATE = RecordingRule(
    record_name("job", API_REQUESTS, "rate5m"),
    rate(API_REQUESTS, by=("job",), window="5m"),
    unit="per_second",
)

groups = (
    RuleGroup("case-records", (RATE,), interval="30s"),
    RuleGroup(
        "case-alerts",
        (
            AlertingRule(
                name="CaseBusy",
                threshold=Threshold(RATE.sel(job="bike-api"), ">", 0.1),
                for_="1m",
                severity="warning",
                summary="busy",
                description="{{ $value }} requests per second",
                tests=(
                    AlertTest(
                        name="one request a second",
                        series=(
                            Series(
                                sel(API_REQUESTS, job="bike-api", endpoint="/predict"), "0+60x5"
                            ),
                        ),
                        # A counter at a constant rate: the onset is derived (1m).
                        fires=(Fires({"job": "bike-api"}, 0.4),),
                    ),
                ),
            ),
        ),
    ),
)
