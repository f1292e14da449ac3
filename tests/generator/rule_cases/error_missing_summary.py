"""An alert without a summary fails the build."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

groups = (RuleGroup("case", (replace(rmse_high, summary=" "),)),)
