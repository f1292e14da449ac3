"""A free expression over gauges: the build cannot tell when it first holds, the test must say."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import r2_low

firing = replace(r2_low.tests[0], onset=None)
groups = (RuleGroup("case", (replace(r2_low, tests=(firing,)),)),)
