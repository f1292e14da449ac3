"""A test feeding a series the catalog does not know fails the build (the test would be vacuous)."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup, Series
from rules_py.model import rmse_high

test = rmse_high.tests[0]
groups = (
    RuleGroup(
        "case",
        (replace(rmse_high, tests=(replace(test, series=(Series("rmse_typo", "1x5"),)),)),),
    ),
)
