"""Drift on live /predict inputs: the window, its scores (equal to /evaluate's on the same rows),
the calendar features of short windows, the gauges absent until the window has its minimum."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api.clients.batches import evaluation_payload
from api.config import FEATURES, Settings
from api.data import load_hourly
from api.evaluation.reports import DRIFT_TESTS, NUMERICAL_FEATURES
from api.live_drift import (
    CALENDAR_THRESHOLD,
    CYCLIC_FEATURES,
    WEATHER_FEATURES,
    WEATHER_THRESHOLD,
    LiveDriftMonitor,
    LiveWindow,
    ReferenceSummary,
)
from api.main import create_app
from api.metrics import Metrics
from api.model import load_bundle


def _rows(source: str, start: str, end: str) -> list[dict[str, object]]:
    hourly = load_hourly(source).loc[f"{start} 00:00:00" : f"{end} 23:00:00"]
    return [
        {**{f: row[f] for f in FEATURES}, "dteday": row["dteday"]} for _, row in hourly.iterrows()
    ]


def test_the_methods_and_thresholds_are_evaluates() -> None:
    assert set(WEATHER_FEATURES) == set(NUMERICAL_FEATURES)
    for feature, test in DRIFT_TESTS.items():
        if feature in WEATHER_FEATURES:
            assert (test.method, test.threshold) == ("wasserstein", WEATHER_THRESHOLD)
        else:
            assert (test.method, test.threshold) == ("jensenshannon", CALENDAR_THRESHOLD)


def test_on_the_same_rows_the_live_scores_are_evaluates(
    settings: Settings, dataset_source: str, model_dir: Path
) -> None:
    """A February week through /evaluate (Evidently) and through the live window (scipy)."""
    body = evaluation_payload(
        load_hourly(dataset_source), "feb", "2011-02-08 00:00:00", "2011-02-14 23:00:00"
    )
    with TestClient(create_app(settings, registry=CollectorRegistry())) as client:
        answer = client.post("/evaluate", json=body)
        assert answer.status_code == 200, answer.text
        evaluated = answer.json()
        window: LiveWindow = client.app.state.live_window  # type: ignore[attr-defined]
        for record in body["data"]:
            assert client.post("/predict", json=record).status_code == 200
    live = ReferenceSummary.from_csv(load_bundle(model_dir).reference_path).score(window.rows())
    assert live.rows == len(body["data"])
    for feature in FEATURES:
        assert live.scores[feature] == pytest.approx(
            evaluated["feature_drift_scores"][feature], rel=1e-9, abs=1e-12
        ), feature
    assert sorted(live.drifted) == sorted(evaluated["drifted_features"])
    assert live.ratio == pytest.approx(evaluated["drift_share"])


def _replayed(settings: Settings, rows: list[dict[str, object]]) -> Metrics:
    """`rows` sent to /predict in order, then one scoring run; the app's metrics."""
    registry = CollectorRegistry()
    with TestClient(create_app(settings, registry=registry)) as client:
        for record in rows:
            assert client.post("/predict", json=record).status_code == 200
        monitor: LiveDriftMonitor = client.app.state.live_drift  # type: ignore[attr-defined]
        monitor.score_once()
        metrics: Metrics = client.app.state.metrics  # type: ignore[attr-defined]
    return metrics


def test_february_replayed_by_whole_days_is_no_drift_and_july_is(
    settings: Settings, dataset_source: str
) -> None:
    rows = _rows(dataset_source, "2011-02-01", "2011-02-28")
    february = _replayed(settings, rows)
    value = february.registry.get_sample_value
    assert value("model_live_window_rows") == len(rows)
    quiet = value("model_live_drifted_features_ratio")
    assert quiet is not None and quiet < 0.3
    # Whole days and weeks: the hour and weekday are scored, and do not drift.
    for feature in CYCLIC_FEATURES:
        score = value("model_live_feature_drift_score", {"feature": feature})
        assert score is not None and score < CALENDAR_THRESHOLD, feature

    july = _replayed(settings, _rows(dataset_source, "2011-07-01", "2011-07-31"))
    drifted = july.registry.get_sample_value("model_live_drifted_features_ratio")
    assert drifted is not None and drifted >= 0.3


def test_the_gauges_are_absent_until_the_minimum_and_an_hour_leaves_cyclic_features_out(
    settings: Settings, dataset_source: str
) -> None:
    settings = settings.model_copy(update={"live_drift_min_rows": 24})
    few = _replayed(settings, _rows(dataset_source, "2011-02-01", "2011-02-01")[:23])
    assert few.registry.get_sample_value("model_live_drifted_features_ratio") is None
    assert few.registry.get_sample_value("model_live_window_rows") is None

    # One day at noon only (24 requests, one hour value, one weekday): those two are not
    # scored (NaN) nor counted; the rest are.
    noon = [row for row in _rows(dataset_source, "2011-02-01", "2011-02-28") if row["hr"] == 12]
    metrics = _replayed(settings, noon[:24] if len(noon) >= 24 else noon * 2)
    value = metrics.registry.get_sample_value
    assert math.isnan(value("model_live_feature_drift_score", {"feature": "hr"}) or 0.0)
    assert value("model_live_feature_drift_score", {"feature": "temp"}) is not None
    assert value("model_live_window_rows") == 24


def test_the_window_keeps_the_last_requests_only() -> None:
    window = LiveWindow(100)
    for i in range(250):
        window.add([float(i)] * len(FEATURES))
    rows = window.rows()
    assert len(window) == 100 and rows.shape == (100, len(FEATURES))
    assert sorted(rows[:, 0]) == [float(i) for i in range(150, 250)]


def test_a_window_of_zero_turns_it_off(settings: Settings, dataset_source: str) -> None:
    settings = settings.model_copy(update={"live_drift_window": 0})
    with TestClient(create_app(settings, registry=CollectorRegistry())) as client:
        record = _rows(dataset_source, "2011-02-01", "2011-02-01")[0]
        assert client.post("/predict", json=record).status_code == 200
        assert client.app.state.live_window is None  # type: ignore[attr-defined]
        assert client.app.state.live_drift is None  # type: ignore[attr-defined]
