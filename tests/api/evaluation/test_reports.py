"""Evidently reports on the real data: scores, drift on the inputs only, files and pruning."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from api.clients.batches import SHIFTED_PERIOD
from api.clients.batches import WEEKLY_PERIODS as WEEKS
from api.config import DEFAULT_DRIFT_SHARE_THRESHOLD, FEATURES, TARGET
from api.evaluation.result import EvaluationResult
from api.model import ModelBundle

# Evidently is imported in this process (~6 s): under xdist its tests share one worker.
pytestmark = pytest.mark.xdist_group("evidently-in-process")

if TYPE_CHECKING:
    from api.evaluation.reports import Reference

# The exam's evaluation weeks (WEEKS) and the shifted summer month, as the clients send them.
JULY = SHIFTED_PERIOD[1:]
# Rows of [start, end] with the session model's predictions (the `batch` fixture).
Batch = Callable[[str, str], pd.DataFrame]

THRESHOLD = DEFAULT_DRIFT_SHARE_THRESHOLD


@pytest.fixture(scope="module")
def reports() -> ModuleType:
    """Evidently's module, imported when a test needs it (~6 s), not at collection."""
    from api.evaluation import reports as module

    return module


@pytest.fixture(scope="module")
def reference(reports: ModuleType, bundle: ModelBundle) -> Reference:
    return reports.Reference.from_csv(bundle.reference_path)


@pytest.fixture(scope="module")
def results(reports: ModuleType, reference: Reference, batch: Batch) -> dict[str, EvaluationResult]:
    """One report per exam week and for July, shared by the tests below (each costs ~1 s)."""
    periods = {**WEEKS, "july": JULY}
    return {
        name: reports.evaluate(reference, batch(*period), drift_share_threshold=THRESHOLD)
        for name, period in periods.items()
    }


@pytest.mark.parametrize("week", list(WEEKS))
def test_february_weeks_give_finite_scores_and_no_drift_alarm(
    week: str, results: dict[str, EvaluationResult], batch: Batch
) -> None:
    result = results[week]
    assert result.rows == len(batch(*WEEKS[week]))
    for score in (result.rmse, result.mae, result.r2, result.mape, result.drift_share):
        assert score is not None and math.isfinite(score)
    # A normal week after the reference must not look drifted: an always-on alert is useless.
    assert result.drift_share < THRESHOLD
    assert result.drift_detected is False


def test_july_drifts_more_and_fits_worse_than_week1(results: dict[str, EvaluationResult]) -> None:
    week1, july = results["week1_february"], results["july"]
    assert july.drift_share > week1.drift_share
    assert july.rmse is not None and week1.rmse is not None and july.rmse > week1.rmse
    assert july.drift_detected is True
    # Another season: the calendar and the temperature move together.
    assert {"season", "mnth", "temp", "atemp"} <= set(july.drifted_features)


def test_scores_match_sklearn_on_the_same_rows(
    reports: ModuleType, results: dict[str, EvaluationResult], batch: Batch
) -> None:
    rows = batch(*WEEKS["week1_february"])
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y, p = rows[TARGET].to_numpy(dtype="float64"), rows[reports.PREDICTION].to_numpy()
    result = results["week1_february"]
    assert result.rmse == pytest.approx(math.sqrt(mean_squared_error(y, p)), rel=1e-9)
    assert result.mae == pytest.approx(mean_absolute_error(y, p), rel=1e-9)
    assert result.r2 == pytest.approx(r2_score(y, p), rel=1e-9)
    assert result.mape == pytest.approx(float(np.mean(np.abs(y - p) / y) * 100), rel=1e-9)


def test_drift_covers_the_eleven_inputs_only(
    reports: ModuleType, results: dict[str, EvaluationResult]
) -> None:
    for result in results.values():
        assert set(result.feature_drift_scores) == set(FEATURES)
        assert set(result.drifted_features) <= set(FEATURES)
        assert result.drift_share == pytest.approx(len(result.drifted_features) / len(FEATURES))
        for feature in result.drifted_features:
            test = reports.DRIFT_TESTS[feature]
            assert result.feature_drift_scores[feature] >= test.threshold


def _report(metrics: list[tuple[str, dict[str, object], object]]) -> dict[str, object]:
    return {
        "metrics": [
            # Display names are noise on purpose: extraction must not depend on them.
            {"metric_name": f"shown as {random.random()}", "config": cfg | {"type": t}, "value": v}
            for t, cfg, v in metrics
        ]
    }


def test_extract_reads_values_by_metric_type_not_by_name(
    reports: ModuleType,
) -> None:
    from evidently.metrics import MAE, MAPE, RMSE, DriftedColumnsCount, R2Score, ValueDrift

    drift = [
        (ValueDrift.__get_type__(), {"column": f, "threshold": 0.5}, 0.9 if f == "hr" else 0.1)
        for f in FEATURES
    ]
    metrics = [
        *drift,
        (MAPE.__get_type__(), {}, {"mean": 12.5, "std": 1.0}),
        (DriftedColumnsCount.__get_type__(), {}, {"count": 1.0, "share": 1 / 11}),
        (R2Score.__get_type__(), {}, 0.75),
        (MAE.__get_type__(), {}, {"mean": 3.0, "std": 2.0}),
        (RMSE.__get_type__(), {}, 4.0),
        ("evidently:metric_v2:SomethingElse", {}, 99.0),
    ]
    random.Random(3).shuffle(metrics)
    result = reports.extract(_report(metrics), drift_share_threshold=0.3, rows=7)
    assert (result.rmse, result.mae, result.r2, result.mape) == (4.0, 3.0, 0.75, 12.5)
    assert result.drifted_features == ("hr",)
    assert result.drift_detected is False
    assert result.rows == 7


def test_extract_refuses_a_report_without_drift_results(
    reports: ModuleType,
) -> None:
    from evidently.metrics import RMSE

    with pytest.raises(reports.ReportError, match="lacks drift results"):
        reports.extract(
            _report([(RMSE.__get_type__(), {}, 4.0)]), drift_share_threshold=0.3, rows=1
        )


def test_reports_are_written_and_the_oldest_pruned(
    reports: ModuleType, reference: Reference, batch: Batch, tmp_path: Path
) -> None:
    foreign = tmp_path / "notes.json"
    foreign.write_text("{}\n")
    rows = batch("2011-02-08 00:00:00", "2011-02-08 23:00:00")
    written = [
        reports.evaluate(
            reference,
            rows,
            drift_share_threshold=THRESHOLD,
            reports_dir=tmp_path,
            label=f"batch {i}",
            keep=2,
        )
        for i in range(3)
    ]
    expected = set()
    for result in written[1:]:
        assert result.html_path is not None and result.json_path is not None
        expected |= {result.html_path.name, result.json_path.name}
    assert {p.name for p in tmp_path.iterdir()} == expected | {foreign.name}
    assert foreign.exists()
    last = written[-1]
    assert last.html_path is not None and last.json_path is not None
    assert "<html" in last.html_path.read_text().lower()
    document = json.loads(last.json_path.read_text())
    types = {m["config"]["type"] for m in document["metrics"]}
    assert reports.ValueDrift.__get_type__() in types


def test_a_single_row_leaves_r2_undefined_without_warnings(
    reports: ModuleType, reference: Reference, batch: Batch
) -> None:
    rows = batch("2011-02-09 08:00:00", "2011-02-09 08:00:00")
    result = reports.evaluate(reference, rows, drift_share_threshold=THRESHOLD)
    assert result.rows == 1
    assert result.r2 is None
    assert result.rmse is not None and math.isfinite(result.rmse)


def test_an_empty_or_incomplete_batch_is_refused(
    reports: ModuleType, reference: Reference, batch: Batch
) -> None:
    rows = batch(*WEEKS["week2_february"])
    with pytest.raises(reports.ReportError, match="empty"):
        reports.evaluate(reference, rows.iloc[:0], drift_share_threshold=THRESHOLD)
    with pytest.raises(reports.ReportError, match=r"\['hum'\]"):
        reports.evaluate(reference, rows.drop(columns="hum"), drift_share_threshold=THRESHOLD)


def test_without_predictions_only_drift_is_reported(
    reports: ModuleType, reference: Reference, batch: Batch
) -> None:
    rows = batch(*WEEKS["week2_february"]).drop(columns=reports.PREDICTION)
    result = reports.evaluate(reference, rows, drift_share_threshold=THRESHOLD)
    assert (result.rmse, result.mae, result.r2, result.mape) == (None, None, None, None)
    assert set(result.feature_drift_scores) == set(FEATURES)
