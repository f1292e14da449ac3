"""The model's inputs, target and reference window: plain constants, cheap to import."""

from __future__ import annotations

__all__ = [
    "DEFAULT_DRIFT_SHARE_THRESHOLD",
    "FEATURES",
    "REFERENCE_END",
    "REFERENCE_START",
    "TARGET",
]

# The 11 model inputs, in the column order the model was trained with.
FEATURES = (
    "temp",
    "atemp",
    "hum",
    "windspeed",
    "mnth",
    "hr",
    "weekday",
    "season",
    "holiday",
    "workingday",
    "weathersit",
)
TARGET = "cnt"
# The January reference window: training data and Evidently's reference. The exam's evaluation
# weeks start on 2011-01-29, right after it.
REFERENCE_START = "2011-01-01 00:00:00"
REFERENCE_END = "2011-01-28 23:00:00"
# The course's monitor flow retrains when a third of the features drift (0.3 of 11 = 4 features).
DEFAULT_DRIFT_SHARE_THRESHOLD = 0.3
