"""The one place that runs Evidently: a batch against the reference, scores read by metric type."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from api.config import FEATURES, TARGET
from api.evaluation.drift_tests import (
    CATEGORICAL_FEATURES,
    DRIFT_TESTS,
    NUMERICAL_FEATURES,
    DriftTest,
)
from api.evaluation.result import PREDICTION, EvaluationResult

with warnings.catch_warnings():
    # Evidently 0.7.23 touches numpy.core (renamed in numpy 2) and pulls in litestar, whose
    # deprecated `Dependency` helpers it uses, at import time; neither affects the reports.
    warnings.filterwarnings(
        "ignore", category=DeprecationWarning, module=r"evidently\.legacy\.tests\.utils"
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"litestar\.")
    from evidently import DataDefinition, Dataset, Regression, Report
    from evidently.core.report import Snapshot
    from evidently.metrics import MAE, MAPE, RMSE, DriftedColumnsCount, R2Score, ValueDrift

__all__ = [
    "CATEGORICAL_FEATURES",
    "DRIFT_TESTS",
    "NUMERICAL_FEATURES",
    "PREDICTION",
    "DriftTest",
    "Reference",
    "ReportError",
    "evaluate",
    "extract",
    "prune",
]

# Metric types as Evidently writes them in `config.type` of the report's dict().
_RMSE = RMSE.__get_type__()
_MAE = MAE.__get_type__()
_R2 = R2Score.__get_type__()
_MAPE = MAPE.__get_type__()
_DRIFTED_COLUMNS = DriftedColumnsCount.__get_type__()
_VALUE_DRIFT = ValueDrift.__get_type__()

# Report files: <UTC time>-<label>.{html,json}; the time sorts them, pruning keeps the newest.
_STEM = re.compile(r"^\d{8}T\d{12}Z-[a-z0-9_-]{1,40}$")


class ReportError(Exception):
    """The batch or the reference cannot be reported on; the message says why."""


@contextlib.contextmanager
def _harmless_warnings() -> Iterator[None]:
    """Silence what Evidently's legacy code emits on small or constant batches, nothing else."""
    with warnings.catch_warnings():
        # Evidently bins the target for its plots; a bin with one row has no R2.
        warnings.filterwarnings(
            "ignore", message=r"R\^2 score is not well-defined", module=r"sklearn\."
        )
        # Correlations and std of a constant column (a batch of one hour, a single month).
        warnings.filterwarnings(
            "ignore", category=RuntimeWarning, module=r"numpy\.lib\._function_base_impl"
        )
        # scipy's tests on a one-row batch return NaN, which we report as "undefined".
        warnings.filterwarnings("ignore", message=r"One or more sample arguments is too small")
        yield


class Reference:
    """The reference rows (features, cnt, optional prediction) and their Evidently dataset.

    Built once per process and reused: converting the frame costs more than the drift tests.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        _check_columns(frame, "reference")
        if len(frame) < 2:
            raise ReportError(f"the reference has {len(frame)} rows, at least 2 are needed")
        self.frame = frame
        self.has_prediction = PREDICTION in frame.columns
        self._datasets: dict[bool, Dataset] = {}

    @classmethod
    def from_csv(cls, path: Path) -> Reference:
        """The reference saved beside the model (`reference.csv`, indexed by `datetime`)."""
        try:
            frame = pd.read_csv(path, index_col="datetime", parse_dates=["datetime"])
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ReportError(f"cannot read the reference {path}: {exc}") from exc
        return cls(frame)

    def dataset(self, with_prediction: bool) -> Dataset:
        if with_prediction not in self._datasets:
            self._datasets[with_prediction] = _dataset(self.frame, with_prediction)
        return self._datasets[with_prediction]


def _check_columns(frame: pd.DataFrame, what: str) -> None:
    missing = [c for c in (*FEATURES, TARGET) if c not in frame.columns]
    if missing:
        raise ReportError(f"the {what} has no column(s) {missing}")


def _definition(with_prediction: bool) -> DataDefinition:
    numerical = [*NUMERICAL_FEATURES, TARGET]
    if with_prediction:
        return DataDefinition(
            numerical_columns=[*numerical, PREDICTION],
            categorical_columns=list(CATEGORICAL_FEATURES),
            regression=[Regression(target=TARGET, prediction=PREDICTION)],
        )
    return DataDefinition(
        numerical_columns=numerical, categorical_columns=list(CATEGORICAL_FEATURES)
    )


def _dataset(frame: pd.DataFrame, with_prediction: bool) -> Dataset:
    columns = [*FEATURES, TARGET, *([PREDICTION] if with_prediction else [])]
    table = frame[columns].reset_index(drop=True)
    return Dataset.from_pandas(table, data_definition=_definition(with_prediction))


def _metrics(with_prediction: bool, target: pd.Series) -> list[Any]:
    # Drift on the 11 inputs only: cnt and the prediction move with the season by design, so
    # counting them would flag every normal week.
    drift: list[Any] = [
        DriftedColumnsCount(
            columns=list(FEATURES),
            per_column_method={f: t.method for f, t in DRIFT_TESTS.items()},
            per_column_threshold={f: t.threshold for f, t in DRIFT_TESTS.items()},
        ),
        *(
            ValueDrift(column=f, method=t.method, threshold=t.threshold)
            for f, t in DRIFT_TESTS.items()
        ),
    ]
    if not with_prediction:
        return drift
    # Plots off where they are optional: they cost ~0.3 s and the error plots stay in.
    regression: list[Any] = [RMSE(error_distr=False), MAE(error_distr=False)]
    # R2 of a constant target is 0/0: left out (reported as None), not computed into Evidently's
    # 0.0, which would page the low-R2 alert. (A target of zeros only cannot be scored at all:
    # Evidently's regression metrics raise IndexError; /evaluate refuses such a batch.)
    if target.nunique() > 1:
        regression.append(R2Score())
    regression.append(MAPE(perc_error_plot=False))
    return [*regression, *drift]


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def extract(report: dict[str, Any], *, drift_share_threshold: float, rows: int) -> EvaluationResult:
    """Read the scores from a report's `dict()` by each metric's `config.type`."""
    scores: dict[str, float | None] = {}
    drifted: list[str] = []
    regression: dict[str, float | None] = {}
    share: float | None = None
    for metric in report.get("metrics", []):
        config, value = metric["config"], metric["value"]
        kind = config["type"]
        if kind == _RMSE:
            regression["rmse"] = _finite(value)
        elif kind == _R2:
            regression["r2"] = _finite(value)
        elif kind == _MAE:
            regression["mae"] = _finite(value["mean"])
        elif kind == _MAPE:
            regression["mape"] = _finite(value["mean"])
        elif kind == _DRIFTED_COLUMNS:
            share = _finite(value["share"])
        elif kind == _VALUE_DRIFT:
            column = config["column"]
            score = _finite(value)
            scores[column] = score
            # Both our methods are distances: at or above the threshold is drift.
            if score is not None and score >= float(config["threshold"]):
                drifted.append(column)
    if share is None or set(scores) != set(FEATURES):
        raise ReportError(
            f"the report lacks drift results (share {share}, features {sorted(scores)})"
        )
    if round(share * len(FEATURES)) != len(drifted):
        # Both come from the same tests; a mismatch means Evidently changed its semantics.
        raise ReportError(f"drifted share {share} disagrees with drifted features {drifted}")
    return EvaluationResult(
        rows=rows,
        rmse=regression.get("rmse"),
        mae=regression.get("mae"),
        r2=regression.get("r2"),
        mape=regression.get("mape"),
        drift_share=share,
        drift_detected=share >= drift_share_threshold,
        drifted_features=tuple(f for f in FEATURES if f in drifted),
        feature_drift_scores={f: s for f, s in scores.items() if s is not None},
    )


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", label.lower()).strip("-")[:40] or "batch"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        # A full disk leaves a partial temporary file: never keep it.
        tmp.unlink(missing_ok=True)


def save(snapshot: Snapshot, reports_dir: Path, label: str, keep: int) -> tuple[Path, Path]:
    """Write the report as HTML and JSON, then keep only the newest `keep` pairs."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{_slug(label)}"
    html_path = reports_dir / f"{stem}.html"
    json_path = reports_dir / f"{stem}.json"
    try:
        _write(html_path, snapshot.get_html_str(as_iframe=False))
        document = json.loads(snapshot.json())
        _write(json_path, json.dumps(document, sort_keys=True, indent=2) + "\n")
    except OSError:
        # Half a pair is no report: remove what was written.
        html_path.unlink(missing_ok=True)
        json_path.unlink(missing_ok=True)
        raise
    prune(reports_dir, keep)
    return html_path, json_path


def prune(reports_dir: Path, keep: int) -> list[Path]:
    """Delete report pairs beyond the newest `keep`; returns what was deleted."""
    # Only names this module writes: the folder may be shared with other files.
    stems = sorted(
        {p.stem for p in reports_dir.iterdir() if p.suffix in (".html", ".json")}
        if reports_dir.is_dir()
        else set()
    )
    stems = [s for s in stems if _STEM.match(s)]
    removed: list[Path] = []
    for stem in stems[: max(len(stems) - keep, 0)]:
        for suffix in (".html", ".json"):
            path = reports_dir / f"{stem}{suffix}"
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


def evaluate(
    reference: Reference,
    current: pd.DataFrame,
    *,
    drift_share_threshold: float,
    reports_dir: Path | None = None,
    label: str = "batch",
    keep: int = 20,
) -> EvaluationResult:
    """Report `current` against `reference`; save it under `reports_dir` when given.

    Regression quality needs a `prediction` column in both frames; without one (the monitor
    with no trained model) only the drift is reported.
    """
    _check_columns(current, "batch")
    if current.empty:
        raise ReportError("the batch is empty")
    with_prediction = PREDICTION in current.columns and reference.has_prediction
    with _harmless_warnings():
        snapshot = Report(_metrics(with_prediction, current[TARGET])).run(
            _dataset(current, with_prediction), reference.dataset(with_prediction)
        )
        result = extract(
            snapshot.dict(), drift_share_threshold=drift_share_threshold, rows=len(current)
        )
        if reports_dir is None:
            return result
        try:
            html_path, json_path = save(snapshot, reports_dir, label, keep)
        except OSError as exc:
            # The scores are the product, the report a by-product: keep the scores.
            where = exc.filename or reports_dir
            return replace(result, report_error=f"{exc.strerror or exc} ({where})")
    return replace(result, html_path=html_path, json_path=json_path)
