"""A Grafana-managed alert needs a threshold: a free expression cannot become A -> B -> C."""

from dataclasses import replace

from authoring.rules_dsl import BOTH, RuleGroup
from rules_py.model import r2_low

groups = (RuleGroup("case", (replace(r2_low, backends=BOTH),)),)
