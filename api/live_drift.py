"""Drift on live /predict inputs, before any label arrives.

`/predict` puts each request's 11 features into a ring buffer of the last LIVE_DRIFT_WINDOW
requests (one lock and one row copy: ~1 us on a ~150 us request). Every
LIVE_DRIFT_INTERVAL_SECONDS a background thread scores the window against the served model's
reference with the per-feature methods and thresholds of `/evaluate` (api/evaluation/reports.py:
the Wasserstein distance in reference standard deviations for the weather, the Jensen-Shannon
distance of the category frequencies for the calendar), computed here with scipy as Evidently's
stattests compute them, from a summary of the reference made once per model (its weather values
sorted, its calendar frequencies): a scoring takes a few milliseconds and never imports
Evidently.

Calendar features that cycle (`hr`, `weekday`) are scored only once the window holds every value
the reference holds (all 24 hours, all 7 weekdays): an hour of traffic has one `hr`, which is not
drift. Until then they are left out, of the per-feature gauges and of the ratio's denominator.
`mnth`, `season`, `holiday` and `workingday` are always scored: a new month or season in live
traffic is exactly what this is for.

Each uvicorn worker keeps its own window (the requests it served: a sample of the same traffic)
and scores it; the gauges are multiprocess `mostrecent`, so /metrics shows one value per API
instance, the newest scoring's.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from api import logs
from api.config import FEATURES
from api.evaluation.drift_tests import (
    CALENDAR_DRIFT,
    CATEGORICAL_FEATURES,
    NUMERICAL_FEATURES,
    WEATHER_DRIFT,
)
from api.evaluation.result import REPORT_DECIMALS
from api.metrics import DRIFT_FEATURES, Metrics

__all__ = [
    "CALENDAR_FEATURES",
    "CYCLIC_FEATURES",
    "WEATHER_FEATURES",
    "LiveDriftMonitor",
    "LiveScores",
    "LiveWindow",
    "ReferenceSummary",
]

log = logs.get("live-drift")

# As /evaluate scores them: the methods and thresholds of api/evaluation/drift_tests.py.
WEATHER_FEATURES = NUMERICAL_FEATURES
CALENDAR_FEATURES = CATEGORICAL_FEATURES
WEATHER_THRESHOLD = WEATHER_DRIFT.threshold
CALENDAR_THRESHOLD = CALENDAR_DRIFT.threshold
# Calendar features whose values cycle within days: scored once the window covers the cycle.
CYCLIC_FEATURES = ("hr", "weekday")
# Evidently's floor of the reference std (a constant feature would divide by zero).
MIN_STD = 0.001


class LiveWindow:
    """The last `size` inputs /predict served, in arrival order (a ring buffer)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows = np.zeros((size, len(FEATURES)), dtype=np.float64)
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()

    def add(self, features: Sequence[float]) -> None:
        with self._lock:
            self._rows[self._next] = features
            self._next = (self._next + 1) % self.size
            if self._count < self.size:
                self._count += 1

    def __len__(self) -> int:
        return self._count

    def rows(self) -> np.ndarray:
        """A copy of the rows held (at most `size`), for scoring off the request path."""
        with self._lock:
            return self._rows[: self._count].copy()


@dataclass(frozen=True)
class LiveScores:
    """One scoring of the window: per-feature scores (None: not scored), the drifted share."""

    rows: int
    scores: dict[str, float | None]
    drifted: tuple[str, ...]

    @property
    def ratio(self) -> float:
        scored = sum(1 for s in self.scores.values() if s is not None)
        return len(self.drifted) / scored if scored else 0.0


class ReferenceSummary:
    """What scoring needs of the reference: weather values and their std, calendar frequencies.

    Example:
        >>> frame = pd.DataFrame({f: [0.0, 1.0, 1.0, 0.0] for f in FEATURES})
        >>> summary = ReferenceSummary(frame)
        >>> summary.score(frame[list(FEATURES)].to_numpy()).ratio
        0.0
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._weather: dict[str, tuple[np.ndarray, float]] = {}
        self._calendar: dict[str, dict[float, float]] = {}
        for feature in WEATHER_FEATURES:
            values = frame[feature].to_numpy(dtype=np.float64)
            self._weather[feature] = (np.sort(values), max(float(np.std(values)), MIN_STD))
        for feature in CALENDAR_FEATURES:
            shares = frame[feature].astype(np.float64).value_counts(normalize=True)
            self._calendar[feature] = {float(k): float(v) for k, v in shares.items()}

    @classmethod
    def from_csv(cls, path: Path) -> ReferenceSummary:
        return cls(pd.read_csv(path, usecols=list(FEATURES)))

    def score(self, rows: np.ndarray) -> LiveScores:
        """Score `rows` (n x 11, FEATURES order) as /evaluate scores a batch."""
        # scipy.stats takes ~1 s to import: in the scoring thread, never at start-up.
        from scipy import stats
        from scipy.spatial import distance

        current = np.round(rows, REPORT_DECIMALS)
        scores: dict[str, float | None] = {}
        drifted = []
        for index, feature in enumerate(FEATURES):
            column = current[:, index]
            if feature in self._weather:
                reference, std = self._weather[feature]
                score = float(stats.wasserstein_distance(reference, column)) / std
                threshold = WEATHER_THRESHOLD
            else:
                shares = self._calendar[feature]
                values, counts = np.unique(column, return_counts=True)
                if feature in CYCLIC_FEATURES and not set(shares) <= set(values.tolist()):
                    scores[feature] = None
                    continue
                keys = sorted(set(shares) | set(values.tolist()))
                window = dict(zip(values.tolist(), (counts / len(column)).tolist(), strict=True))
                p = np.array([shares.get(k, 0.0) for k in keys])
                q = np.array([window.get(k, 0.0) for k in keys])
                score = float(distance.jensenshannon(p, q))
                threshold = CALENDAR_THRESHOLD
            scores[feature] = score
            if score >= threshold:
                drifted.append(feature)
        return LiveScores(len(rows), scores, tuple(drifted))


class LiveDriftMonitor:
    """The scoring thread of one API worker: the window against the served model's reference."""

    def __init__(
        self,
        window: LiveWindow,
        metrics: Metrics,
        reference_path: Callable[[], Path | None],
        *,
        interval: float,
        min_rows: int,
    ) -> None:
        self.window = window
        self._metrics = metrics
        self._reference_path = reference_path
        self._interval = interval
        self._min_rows = min_rows
        self._summary: tuple[Path, ReferenceSummary] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bike-api-live-drift", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.score_once()
            except (OSError, ValueError, KeyError) as exc:
                # The reference cannot be read (a swap in progress): the next run tries again.
                log.warning("live drift not scored: %s", exc)

    def _reference(self) -> ReferenceSummary | None:
        path = self._reference_path()
        if path is None:
            return None
        if self._summary is None or self._summary[0] != path:
            self._summary = (path, ReferenceSummary.from_csv(path))
        return self._summary[1]

    def score_once(self) -> LiveScores | None:
        """Score the window now and publish the gauges; None while it holds too few rows (the
        gauges stay absent) or no model is loaded."""
        rows = self.window.rows()
        if len(rows) < self._min_rows:
            return None
        reference = self._reference()
        if reference is None:
            return None
        result = reference.score(rows)
        m = self._metrics
        for feature in DRIFT_FEATURES:
            score = result.scores.get(feature)
            m.model_live_feature_drift_score.labels(feature).set(
                math.nan if score is None else score
            )
        m.model_live_drifted_features_ratio.set(result.ratio)
        m.model_live_window_rows.set(result.rows)
        m.model_live_window_full.set(1 if result.rows >= self.window.size else 0)
        m.model_live_drift_last_run.set(time.time())
        return result
