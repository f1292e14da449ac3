"""The drift test of each input feature: method and threshold, shared by /evaluate's Evidently
report (api/evaluation/reports.py) and the live-input scores (api/live_drift.py). Free of
Evidently, so the API process can read it without importing Evidently."""

from __future__ import annotations

from dataclasses import dataclass

from api.config import FEATURES

__all__ = [
    "CALENDAR_DRIFT",
    "CATEGORICAL_FEATURES",
    "DRIFT_TESTS",
    "NUMERICAL_FEATURES",
    "WEATHER_DRIFT",
    "DriftTest",
]

# Weather is continuous; the calendar codes are categories (month 2 is not "twice" month 1).
NUMERICAL_FEATURES = ("temp", "atemp", "hum", "windspeed")
CATEGORICAL_FEATURES = tuple(f for f in FEATURES if f not in NUMERICAL_FEATURES)


@dataclass(frozen=True)
class DriftTest:
    """An Evidently stattest and the score at or above which a feature counts as drifted."""

    method: str
    threshold: float


# Distances, not p-values: hourly weather is autocorrelated, so K-S/chi-square on a week of
# hours reject "same distribution" even for a week of the reference itself (Evidently's defaults
# flag 5 of 11 features for 2011-01-22..28 against January). A distance measures how far the
# batch moved, which is what a drift alert is about; thresholds sit above the spread of the
# four January weeks against the whole month (measured: weather <= 0.68, calendar <= 0.14).
# - Wasserstein distance in reference standard deviations: 1.0 = moved by a full std.
WEATHER_DRIFT = DriftTest("wasserstein", 1.0)
# - Jensen-Shannon distance of the category frequencies (0 same .. 0.83 disjoint): a week
#   with or without one holiday scores 0.12-0.14 against January; a new month or season 0.83.
CALENDAR_DRIFT = DriftTest("jensenshannon", 0.2)
DRIFT_TESTS: dict[str, DriftTest] = {
    **{f: WEATHER_DRIFT for f in NUMERICAL_FEATURES},
    **{f: CALENDAR_DRIFT for f in CATEGORICAL_FEATURES},
}
