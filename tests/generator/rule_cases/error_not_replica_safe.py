"""An alert on a gauge of the replicated API that does not say how its replicas combine fails
the build: with three replicas it would fire three times, or on a stale replica's value."""

from dataclasses import replace

from api.metrics import MODEL_RMSE
from authoring.promql import sel
from authoring.rules_dsl import RuleGroup, Threshold
from rules_py.model import rmse_high

groups = (
    RuleGroup(
        "case",
        (replace(rmse_high, threshold=Threshold(sel(MODEL_RMSE, job="bike-api"), ">", 100)),),
    ),
)
