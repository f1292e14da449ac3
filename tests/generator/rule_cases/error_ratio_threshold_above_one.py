"""A ratio (0-1) compared with a number above 1 can never fire: the build refuses it."""

from dataclasses import replace

from authoring.rules_dsl import RuleGroup
from rules_py.model import data_drift

assert data_drift.threshold is not None
groups = (
    RuleGroup("case", (replace(data_drift, threshold=replace(data_drift.threshold, value=30)),)),
)
