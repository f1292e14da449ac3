"""The outcome of one evaluation, free of Evidently so the API process can unpickle it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PREDICTION", "REPORT_DECIMALS", "EvaluationResult"]

# The column holding the model's prediction beside `cnt` (reference.csv and each batch).
PREDICTION = "prediction"
# A batch's features are rounded to this many decimals in the report's table (and the live
# drift scores round the window the same way, so both score the same numbers).
REPORT_DECIMALS = 6


@dataclass(frozen=True)
class EvaluationResult:
    """Scores of one batch against the reference, read from an Evidently report.

    Regression scores are None when the batch has no predictions (the monitor without a
    model) or when the score is undefined for the batch (R2 of a constant target).
    `feature_drift_scores` holds Evidently's drift statistic per input feature: higher means
    further from the reference; `drifted_features` are those at or over their threshold.

    Example:
        >>> r = EvaluationResult(rows=2, rmse=1.0, mae=1.0, r2=0.5, mape=10.0, drift_share=0.0,
        ...     drift_detected=False, drifted_features=(), feature_drift_scores={})
        >>> r.drift_detected
        False
    """

    rows: int
    rmse: float | None
    mae: float | None
    r2: float | None
    mape: float | None
    drift_share: float
    drift_detected: bool
    drifted_features: tuple[str, ...]
    feature_drift_scores: dict[str, float] = field(default_factory=dict)
    html_path: Path | None = None
    json_path: Path | None = None
    # Why the HTML/JSON report could not be written (the scores stand without it).
    report_error: str | None = None
