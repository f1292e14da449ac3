"""A rule whose expression does not parse fails the build, naming the rule."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import rmse_high

groups = (
    RuleGroup(
        "case",
        (replace(rmse_high, backends=("prometheus",), threshold=None, expression="rate(x[5m]"),),
    ),
)
