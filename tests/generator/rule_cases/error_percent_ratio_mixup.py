"""MAPE is in percent (an ordinary week scores ~39): "above 0.5" would fire on every evaluation."""

from api.metrics import MODEL_MAPE
from authoring.alert_shapes import gauge_alert
from authoring.rules_dsl import RuleGroup

groups = (
    RuleGroup(
        "case",
        (
            gauge_alert(
                "CaseMapeHigh",
                MODEL_MAPE,
                ">",
                0.5,
                example=(0.3, 0.9),
                for_="1m",
                severity="warning",
                summary="MAPE high",
                description="MAPE is {{ $value }}",
            ),
        ),
    ),
)
