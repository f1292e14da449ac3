"""A Grafana-managed alert needs a threshold: a free expression cannot become A -> B -> C."""

from dataclasses import replace

from authoring.rules_dsl import BOTH, RuleGroup
from rules_py.model import evaluation_stale

groups = (RuleGroup("case", (replace(evaluation_stale, backends=BOTH),)),)
