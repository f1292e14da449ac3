"""Two recording rules of the same name fail the build."""

from rules_py.api import REQUEST_RATE
from rules_py.dsl import RuleGroup

groups = (RuleGroup("case", (REQUEST_RATE, REQUEST_RATE)),)
