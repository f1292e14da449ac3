"""Two recording rules of the same name fail the build."""

from authoring.rules_dsl import RuleGroup
from rules_py.api import REQUEST_RATE

groups = (RuleGroup("case", (REQUEST_RATE, REQUEST_RATE)),)
