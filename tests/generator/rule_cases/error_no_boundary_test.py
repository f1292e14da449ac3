"""A Prometheus alert without a test pinning its for: boundary fails the build."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

groups = (RuleGroup("case", (replace(rmse_high, tests=()),)),)
