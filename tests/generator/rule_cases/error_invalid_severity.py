"""A severity outside critical, warning, info fails the build."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

# The wrong value is the point of this case; mypy rightly refuses it.
groups = (RuleGroup("case", (replace(rmse_high, severity="page"),)),)  # type: ignore[arg-type]
