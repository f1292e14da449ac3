"""An alert of the common shape, from the helper: the rule, its example test with the onset
derived, and its annotations rendered from the rule's own text."""

from api.metrics import MODEL_RMSE
from authoring.alert_shapes import gauge_alert
from authoring.rules_dsl import RuleGroup

groups = (
    RuleGroup(
        "case",
        (
            gauge_alert(
                "CaseRmseHigh",
                MODEL_RMSE,
                ">",
                100,
                example=(40, 150.25),
                for_="2m",
                severity="warning",
                summary="RMSE high on {{ $labels.job }}",
                replicas="max",
                description='RMSE is {{ $value | printf "%.1f" }} rentals per hour',
            ),
        ),
    ),
)
