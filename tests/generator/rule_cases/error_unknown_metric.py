"""A rule naming a metric that api/metrics.py does not define fails the build."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup, Threshold
from rules_py.model import rmse_high

# The typo is the point: `model_rmse` is not a series of the catalog (`model_rmse_score` is).
groups = (RuleGroup("case", (replace(rmse_high, threshold=Threshold("model_rmse", ">", 1)),)),)
