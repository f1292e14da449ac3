"""Annotations that template no value ($value, $labels) fail the build: they cannot say which."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

groups = (RuleGroup("case", (replace(rmse_high, summary="bad", description="RMSE is high"),)),)
