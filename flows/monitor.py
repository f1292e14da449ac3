"""`monitor` (Prefect flow): `make drift-report` as Prefect tasks. The reference window against
the current one, Evidently's HTML and JSON reports, the drift share and the target drift, and
the decision: RETRAINING_TRIGGERED when the drifted share reaches the threshold, else NO_ACTION.

`python -m flows.monitor` (or `make monitor`) takes the drift report's options, prints what it
prints (the last line is the same `[Evidently] ... -> DECISION` line) and exits with its codes;
without PREFECT_API_URL, Prefect runs it against a temporary local server. Every step is a
function of `api/evaluation/monitor.py`, so the flow and `make drift-report` cannot disagree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from api.config import REFERENCE_END, REFERENCE_START, get_settings
from api.data import DataError, load_hourly
from api.evaluation import monitor as drift_report
from api.evaluation.result import EvaluationResult
from api.model import ModelBundle

__all__ = ["main", "monitor"]

# No task result is cached: a monitor run reads and reports every time (and its inputs, data
# frames and a model, are not worth hashing).


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def load_data(source: str | None) -> pd.DataFrame:
    """The labelled hours (a download or a shared disk can fail for a moment: retried)."""
    return load_hourly(source)


@task(cache_policy=NO_CACHE)
def select_periods(
    hourly: pd.DataFrame, reference: tuple[str, str], current: tuple[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two windows' rows; not retried: a window with no data stays so."""
    return drift_report.periods(hourly, reference, current)


@task(cache_policy=NO_CACHE)
def build_reports(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    windows: tuple[tuple[str, str], tuple[str, str]],
    model_dir: Path,
    threshold: float,
    reports_dir: Path,
    keep: int,
) -> tuple[EvaluationResult, ModelBundle | None]:
    """The Evidently reports (HTML and JSON) and their scores, with the model's when it exists."""
    bundle = drift_report.load_model(model_dir)
    result = drift_report.report(
        reference,
        current,
        bundle,
        windows=windows,
        threshold=threshold,
        reports_dir=reports_dir,
        keep=keep,
    )
    return result, bundle


@task(cache_policy=NO_CACHE)
def decide(
    result: EvaluationResult,
    bundle: ModelBundle | None,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    threshold: float,
) -> drift_report.Decision:
    """RETRAINING_TRIGGERED or NO_ACTION, printed as `make drift-report` prints it."""
    decision = drift_report.decide(result, reference, current, threshold)
    for line in drift_report.summary(result, decision, reference, current, bundle):
        print(line)
    return decision


@flow(name="monitor")
def monitor(
    current: tuple[str, str] = drift_report.DEFAULT_CURRENT,
    reference: tuple[str, str] = (REFERENCE_START, REFERENCE_END),
    threshold: float | None = None,
    reports_dir: Path | None = None,
    keep: int | None = None,
    model_dir: Path | None = None,
    source: str | None = None,
) -> drift_report.Decision:
    """Report the current window against the reference and decide. Returns the decision.

    Unset options take the drift report's defaults (DRIFT_SHARE_THRESHOLD, REPORTS_DIR...).
    """
    settings = get_settings()
    threshold = settings.drift_share_threshold if threshold is None else threshold
    hourly = load_data(source)
    reference_rows, current_rows = select_periods(hourly, reference, current)
    result, bundle = build_reports(
        reference_rows,
        current_rows,
        (reference, current),
        settings.model_dir if model_dir is None else model_dir,
        threshold,
        settings.reports_dir if reports_dir is None else reports_dir,
        settings.reports_keep if keep is None else keep,
    )
    decision = decide(result, bundle, reference_rows, current_rows, threshold)
    get_run_logger().info("%s: %s", decision.action, decision.reason)
    return decision


def main(argv: list[str] | None = None) -> int:
    args = drift_report.parse_args(argv, prog="python -m flows.monitor", description=__doc__)
    # After the arguments: Evidently takes seconds to import.
    from api.evaluation.reports import ReportError

    try:
        decision = monitor(
            current=(args.current_start, args.current_end),
            reference=(args.reference_start, args.reference_end),
            threshold=args.threshold,
            reports_dir=args.reports_dir,
            keep=args.keep,
            model_dir=args.model_dir,
            source=args.source,
        )
    except (DataError, ReportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return drift_report.EXIT_ERROR
    return decision.exit_code


if __name__ == "__main__":
    sys.exit(main())
