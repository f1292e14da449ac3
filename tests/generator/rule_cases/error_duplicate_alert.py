"""Two alerts of the same name (even in different groups) fail the build."""

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

groups = (RuleGroup("case-a", (rmse_high,)), RuleGroup("case-b", (rmse_high,)))
