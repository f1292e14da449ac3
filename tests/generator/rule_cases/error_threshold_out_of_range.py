"""R2 is at most 1: an alert on R2 above 1.5 can never fire."""

from api.metrics import MODEL_R2
from authoring.alert_shapes import gauge_alert
from authoring.rules_dsl import RuleGroup

groups = (
    RuleGroup(
        "case",
        (
            gauge_alert(
                "CaseR2TooGood",
                MODEL_R2,
                ">",
                1.5,
                example=(0.8, 2),
                for_="1m",
                severity="info",
                summary="R2 too good",
                description="R2 is {{ $value }}",
            ),
        ),
    ),
)
