"""The drift monitor: reference vs current period, Evidently reports, and a retraining decision.

`python -m api.evaluation.monitor` (`make drift-report`) compares two date ranges of the UCI
data (default: the January 2011 reference window vs February 2011), writes the HTML and JSON
reports, and decides RETRAINING_TRIGGERED when the share of drifted input features reaches the
threshold, else NO_ACTION. Retraining is simulated: the decision is printed, nothing is launched.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from api.config import FEATURES, REFERENCE_END, REFERENCE_START, TARGET, get_settings
from api.data import DataError, load_hourly
from api.evaluation.result import PREDICTION, EvaluationResult
from api.model import ModelBundle, ModelNotAvailable, load_bundle

__all__ = [
    "DEFAULT_CURRENT",
    "EXIT_ERROR",
    "EXIT_NO_ACTION",
    "EXIT_RETRAINING",
    "NO_ACTION",
    "RETRAINING_TRIGGERED",
    "Decision",
    "decide",
    "load_model",
    "main",
    "parse_args",
    "periods",
    "report",
    "summary",
]

NO_ACTION = "NO_ACTION"
RETRAINING_TRIGGERED = "RETRAINING_TRIGGERED"
# Exit codes: scripts branch on the decision without parsing the output.
EXIT_NO_ACTION = 0
EXIT_ERROR = 1
# 2 is argparse's usage error.
EXIT_RETRAINING = 3
DEFAULT_CURRENT = ("2011-02-01", "2011-02-28")

EPILOG = f"""\
exit status:
  {EXIT_NO_ACTION}  NO_ACTION: drift share below the threshold
  {EXIT_RETRAINING}  RETRAINING_TRIGGERED: drift share at or above the threshold (simulated: no
     retraining is launched)
  {EXIT_ERROR}  the data, model or report could not be read or written
  2  bad arguments

The last line always reads (the course's monitor-flow line):
  [Evidently] report_html=PATH report_json=PATH drift_share=0.27 -> NO_ACTION \
drift_share=0.27 < 0.30 (target_drift=0.12)
  [Evidently] ... drift_share=0.45 -> RETRAINING_TRIGGERED drift_share=0.45 >= 0.30 (...)
"""


@dataclass(frozen=True)
class Decision:
    """The monitor's verdict on one pair of periods."""

    action: str
    drift_share: float
    threshold: float
    target_drift: float

    @property
    def exit_code(self) -> int:
        return EXIT_RETRAINING if self.action == RETRAINING_TRIGGERED else EXIT_NO_ACTION

    @property
    def reason(self) -> str:
        """`drift_share=0.27 < 0.30 (target_drift=0.12)`, as the course's monitor flow says it."""
        op = ">=" if self.action == RETRAINING_TRIGGERED else "<"
        return (
            f"drift_share={self.drift_share:.2f} {op} {self.threshold:.2f} "
            f"(target_drift={self.target_drift:.2f})"
        )


def target_drift(reference: pd.DataFrame, current: pd.DataFrame) -> float:
    """|mean cnt current - mean cnt reference| / mean cnt reference."""
    base = float(reference[TARGET].mean())
    return abs(float(current[TARGET].mean()) - base) / base if base else float("inf")


def decide(
    result: EvaluationResult, reference: pd.DataFrame, current: pd.DataFrame, threshold: float
) -> Decision:
    """RETRAINING_TRIGGERED when the drifted share reaches `threshold`, else NO_ACTION."""
    action = RETRAINING_TRIGGERED if result.drift_share >= threshold else NO_ACTION
    return Decision(action, result.drift_share, threshold, target_drift(reference, current))


def _period(frame: pd.DataFrame, start: str, end: str, what: str) -> pd.DataFrame:
    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError as exc:
        raise DataError(f"{what}: not a date: {exc}") from None
    if first > last:
        raise DataError(f"{what}: start {start} is after end {end}")
    # String slicing keeps whole days: an end of 2011-02-28 includes its 23:00 row.
    rows = frame.loc[start:end]
    if len(rows) < 2:
        raise DataError(f"{what} {start} -> {end} has {len(rows)} rows of data, need at least 2")
    return rows


def periods(
    hourly: pd.DataFrame, reference: tuple[str, str], current: tuple[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and current rows of `hourly`, each window given as (start, end) dates."""
    return _period(hourly, *reference, "reference"), _period(hourly, *current, "current")


def load_model(model_dir: Path) -> ModelBundle | None:
    """The model in `model_dir`, or None (said on stdout): the drift needs no model."""
    try:
        return load_bundle(model_dir)
    except ModelNotAvailable as exc:
        print(f"[monitor] no model, drift only: {exc}")
        return None


def _with_predictions(frame: pd.DataFrame, bundle: ModelBundle | None) -> pd.DataFrame:
    table = frame[[*FEATURES, TARGET]].copy()
    if bundle is not None:
        table[PREDICTION] = bundle.predict(table[list(FEATURES)].to_numpy(dtype="float64"))
    return table


def _parser(prog: str, description: str | None) -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reference-start", default=REFERENCE_START)
    parser.add_argument("--reference-end", default=REFERENCE_END)
    parser.add_argument("--current-start", default=DEFAULT_CURRENT[0])
    parser.add_argument("--current-end", default=DEFAULT_CURRENT[1])
    parser.add_argument(
        "--threshold",
        type=float,
        default=settings.drift_share_threshold,
        help="drift share that triggers retraining (default: DRIFT_SHARE_THRESHOLD, %(default)s)",
    )
    parser.add_argument("--reports-dir", type=Path, default=settings.reports_dir)
    parser.add_argument("--keep", type=int, default=settings.reports_keep)
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=settings.model_dir,
        help="adds RMSE/MAE/R2/MAPE when a trained model is there (default: %(default)s)",
    )
    parser.add_argument("--source", default=None, help="dataset (default: BIKE_SHARING_SOURCE)")
    return parser


def parse_args(
    argv: list[str] | None = None,
    prog: str = "python -m api.evaluation.monitor",
    description: str | None = __doc__,
) -> argparse.Namespace:
    """The monitor's options (the monitor flow takes the same); exits 2 on a bad one."""
    parser = _parser(prog, description)
    args = parser.parse_args(argv)
    if not 0 < args.threshold <= 1:
        parser.error("--threshold must be in (0, 1]")
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    return args


def report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    bundle: ModelBundle | None,
    *,
    windows: tuple[tuple[str, str], tuple[str, str]],
    threshold: float,
    reports_dir: Path,
    keep: int,
) -> EvaluationResult:
    """The Evidently report of `current` against `reference`, saved as HTML and JSON.

    `windows` are the reference's and the current's (start, end) as asked for, for the log line.
    Raises `reports.ReportError` or `OSError`.
    """
    from api.evaluation import reports

    (reference_start, reference_end), (current_start, current_end) = windows
    print(
        f"[monitor] reference {reference_start} -> {reference_end} "
        f"({len(reference)} rows) vs current {current_start} -> {current_end} "
        f"({len(current)} rows)"
    )
    return reports.evaluate(
        reports.Reference(_with_predictions(reference, bundle)),
        _with_predictions(current, bundle),
        drift_share_threshold=threshold,
        reports_dir=reports_dir,
        label=f"monitor-{current.index[0]:%Y%m%d}-{current.index[-1]:%Y%m%d}",
        keep=keep,
    )


def summary(
    result: EvaluationResult,
    decision: Decision,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    bundle: ModelBundle | None,
) -> list[str]:
    """What the monitor prints after the report; the last line is the course's monitor line."""
    lines: list[str] = []
    if result.rmse is not None and bundle is not None:
        r2 = "undefined" if result.r2 is None else f"{result.r2:.3f}"
        lines.append(
            f"[monitor] model {bundle.version}: RMSE {result.rmse:.2f}, MAE {result.mae:.2f}, "
            f"R2 {r2}, MAPE {result.mape:.1f} %"
        )
    scores = ", ".join(f"{f}={s:.3f}" for f, s in result.feature_drift_scores.items())
    lines.append(f"[monitor] feature drift scores: {scores}")
    drifted = ", ".join(result.drifted_features) or "none"
    lines.append(
        f"[monitor] drifted features ({len(result.drifted_features)} of {len(FEATURES)}): {drifted}"
    )
    lines.append(
        f"[monitor] target drift: mean cnt {reference[TARGET].mean():.1f} -> "
        f"{current[TARGET].mean():.1f} ({decision.target_drift:.1%} of the reference mean)"
    )
    if decision.action == RETRAINING_TRIGGERED:
        lines.append(
            f"[monitor] {RETRAINING_TRIGGERED}: {decision.reason}. Simulated: no retraining "
            f"job was launched; run `make train` on newer data to retrain."
        )
    else:
        lines.append(f"[monitor] {NO_ACTION}: {decision.reason}")
    lines.append(
        f"[Evidently] report_html={result.html_path} report_json={result.json_path} "
        f"drift_share={result.drift_share:.2f} -> {decision.action} {decision.reason}"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    windows = ((args.reference_start, args.reference_end), (args.current_start, args.current_end))
    try:
        reference, current = periods(load_hourly(args.source), *windows)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    bundle = load_model(args.model_dir)
    # Evidently takes seconds to import: only once the arguments and data are known good.
    from api.evaluation import reports

    try:
        result = report(
            reference,
            current,
            bundle,
            windows=windows,
            threshold=args.threshold,
            reports_dir=args.reports_dir,
            keep=args.keep,
        )
    except (reports.ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    decision = decide(result, reference, current, args.threshold)
    for line in summary(result, decision, reference, current, bundle):
        print(line)
    return decision.exit_code


if __name__ == "__main__":
    sys.exit(main())
