"""`retrain` (Prefect flow): train a challenger on recent labelled data, compare it with the
champion on a holdout of the newest labelled days, register it in MLflow with the comparison,
and move `bike-demand@champion` only when it wins by the configured margin.

`python -m flows.retrain --until 2011-07-31` (or `make retrain`) runs it as a plain local
process: without PREFECT_API_URL, Prefect runs it against a temporary local server. A drift
decision of the API runs it on the retrain worker (flows/worker.py), through the Prefect server.

Labelled data come from two places: the dataset by date window (what a team reads from its
warehouse) and the labelled batches the API received on /evaluate (kept with their evaluation
runs in MLflow; a batch's hours replace the file's). The training window is the reference month
and every labelled hour after it up to the holdout; the holdout is the newest HOLDOUT_DAYS days
up to `until`, which defaults to the newest labelled day of those batches.

Its metrics (runs by outcome, duration, last start/success/promotion, the holdout RMSEs) go to
prometheus-client's multiprocess files when PROMETHEUS_MULTIPROC_DIR is set (the worker's
/metrics adds them up); run by hand, they stay in the process.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

# Prefect's settings for its temporary local server were set by `flows/__init__.py`, which
# Python runs before this module, so before Prefect is imported.
import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prometheus_client import CollectorRegistry

from api.config import FEATURES, REFERENCE_START, TARGET, get_settings
from api.data import load_hourly
from api.history import BATCH_ARTIFACT, LABELLED_UNTIL_TAG, MAX_LISTED
from api.metrics import RetrainMetrics
from api.model import load_bundle
from api.registry import EVALUATIONS_EXPERIMENT, Champion, Registry, RegistryError
from api.train import register, regression_metrics, train

__all__ = ["HOLDOUT_DAYS", "RETRAIN_MARGIN", "main", "metrics", "retrain"]

# A challenger must beat the champion's holdout RMSE by 5 %: less is within the noise of one
# week of hourly data (the February weeks alone score 20.7 and 20.8 with the same model).
RETRAIN_MARGIN = 0.05
# The newest labelled week is the holdout: the exam's batches arrive weekly.
HOLDOUT_DAYS = 7
# The training window starts at the reference month: January stays in every model's data.
TRAINING_START = REFERENCE_START
# The newest evaluations whose batches join the training data: one page of GET /evaluations,
# a year of weekly batches and more.
MAX_BATCHES = MAX_LISTED

# No task result is cached: a retrain trains, reads the registry and registers every time (and
# its inputs, a Registry client and data frames, are not worth hashing).

_metrics: list[RetrainMetrics] = []


def metrics() -> RetrainMetrics:
    """This process's retrain metrics (created once: a flow run is one process on the worker)."""
    if not _metrics:
        _metrics.append(RetrainMetrics(CollectorRegistry()))
    return _metrics[0]


class NoLabels(RuntimeError):
    """No `until` given and no labelled batch in MLflow to take it from."""


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def labelled_batches(registry: Registry) -> tuple[pd.DataFrame, str | None]:
    """The labelled hours the API received on /evaluate (newest batch wins an hour), and the
    newest labelled day among them (None: no batch)."""
    runs = [
        run
        for run in registry.runs(EVALUATIONS_EXPERIMENT, limit=MAX_BATCHES)
        if run["tags"].get(LABELLED_UNTIL_TAG)
    ]
    frames = []
    for run in reversed(runs):  # oldest first: the newest batch's rows are kept
        text = registry.read_text(run["run_id"], BATCH_ARTIFACT)
        frames.append(pd.read_csv(io.StringIO(text), dtype={"dteday": str}))
    if not frames:
        return pd.DataFrame(columns=[*FEATURES, TARGET]), None
    rows = pd.concat(frames)
    hours = pd.to_datetime(rows["dteday"], format="%Y-%m-%d") + pd.to_timedelta(rows["hr"], "h")
    rows.index = pd.DatetimeIndex(hours, name="datetime")
    rows = rows[~rows.index.duplicated(keep="last")].sort_index()
    return rows[[*FEATURES, TARGET]], max(run["tags"][LABELLED_UNTIL_TAG] for run in runs)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def gather(
    source: str | None, until: str, labelled: pd.DataFrame
) -> tuple[pd.DataFrame, tuple[str, str], tuple[str, str]]:
    """The labelled hours (the dataset's, the batches' over them), the training window and the
    holdout window."""
    hourly = load_hourly(source or get_settings().bike_sharing_source)
    if len(labelled):
        hourly = pd.concat([hourly.drop(index=labelled.index, errors="ignore"), labelled])
        hourly = hourly.sort_index()
    last = date.fromisoformat(until)
    holdout_start = last - timedelta(days=HOLDOUT_DAYS - 1)
    training_end = holdout_start - timedelta(days=1)
    training = (TRAINING_START, f"{training_end} 23:00:00")
    holdout = (f"{holdout_start} 00:00:00", f"{last} 23:00:00")
    if hourly.loc[training[0] : training[1]].empty or hourly.loc[holdout[0] : holdout[1]].empty:
        raise ValueError(
            f"no labelled hours in the training window {training} or the holdout {holdout}"
        )
    return hourly, training, holdout


@task(cache_policy=NO_CACHE)
def train_challenger(
    source: str | None, window: tuple[str, str], labelled: pd.DataFrame, folder: Path
) -> dict[str, Any]:
    return train(folder, source=source, window=window, labelled=labelled)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def fetch_champion(registry: Registry, folder: Path) -> Champion | None:
    champion = registry.champion()
    if champion is not None:
        registry.download(champion, folder)
    return champion


@task(cache_policy=NO_CACHE)
def compare(
    hourly: pd.DataFrame, holdout: tuple[str, str], challenger: Path, champion: Path | None
) -> dict[str, float]:
    """RMSE, MAE and R2 of each model on the holdout (`challenger_rmse`, `champion_rmse`...)."""
    rows = hourly.loc[holdout[0] : holdout[1]]
    x = rows[list(FEATURES)].to_numpy(dtype=np.float64)
    y = rows[TARGET].to_numpy(dtype=np.float64)
    scores: dict[str, float] = {"holdout_rows": float(len(rows))}
    for name, folder in (("challenger", challenger), ("champion", champion)):
        if folder is None:
            continue
        metrics = regression_metrics(y, load_bundle(folder).predict(x))
        scores.update({f"{name}_{k}": v for k, v in metrics.items() if k != "mape"})
    return scores


@task(retries=3, retry_delay_seconds=5, cache_policy=NO_CACHE)
def register_challenger(
    registry: Registry,
    folder: Path,
    card: dict[str, Any],
    scores: dict[str, float],
    promote: bool,
    reason: str,
    trigger: str,
) -> Champion:
    return register(
        registry,
        folder,
        card,
        promote=promote,
        trigger="retrain",
        metrics=scores,
        tags={
            "decision": "promoted" if promote else "rejected",
            "reason": reason[:500],
            "retrain_trigger": trigger[:500],
        },
    )


@flow(name="retrain")
def retrain(
    until: str | None = None,
    source: str | None = None,
    margin: float = RETRAIN_MARGIN,
    trigger: str = "manual",
) -> dict[str, Any]:
    """Train, compare, register; promote only on evidence. Returns the outcome.

    `until`: the newest labelled day (default: the newest of the API's labelled batches);
    `trigger`: what started the run (the API's drift decision, or "manual")."""
    started = time.time()
    m = metrics()
    m.last_start.set(started)
    try:
        result = _retrain(until, source, margin, trigger)
    except BaseException:
        m.runs.labels("failed").inc()
        m.duration.observe(time.time() - started)
        raise
    ended = time.time()
    m.runs.labels(result["outcome"]).inc()
    m.duration.observe(ended - started)
    m.last_success.set(ended)
    if result["outcome"] == "promoted":
        m.last_promotion.set(ended)
    for model in ("challenger", "champion"):
        rmse = result["scores"].get(f"{model}_rmse")
        if rmse is not None:
            m.holdout_rmse.labels(model).set(rmse)
    return result


def _retrain(until: str | None, source: str | None, margin: float, trigger: str) -> dict[str, Any]:
    logger = get_run_logger()
    settings = get_settings()
    registry = Registry(settings.mlflow_tracking_uri, settings.mlflow_artifacts_dir)
    work = Path(tempfile.mkdtemp(prefix="bike-retrain-"))
    labelled, newest = labelled_batches(registry)
    until = until or newest
    if until is None:
        raise NoLabels(
            "no labelled day to train up to: pass `until`, or evaluate a labelled batch first"
        )
    hourly, training, holdout = gather(source, until, labelled)
    card = train_challenger(source, training, labelled, work / "challenger")
    champion = fetch_champion(registry, work / "champion")
    scores = compare(hourly, holdout, work / "challenger", work / "champion" if champion else None)
    if champion is None:
        promote, reason = True, "no champion yet"
    else:
        limit = scores["champion_rmse"] * (1 - margin)
        promote = scores["challenger_rmse"] <= limit
        verb = "beats" if promote else "does not beat"
        reason = (
            f"challenger RMSE {scores['challenger_rmse']:.2f} {verb} champion v{champion.version} "
            f"RMSE {scores['champion_rmse']:.2f} by {margin:.0%} on {holdout[0]} -> {holdout[1]}"
        )
    registered = register_challenger(
        registry, work / "challenger", card, scores, promote, reason, trigger
    )
    outcome = "promoted" if promote else "rejected"
    logger.info("version %s %s: %s", registered.version, outcome, reason)
    return {
        "outcome": outcome,
        "version": registered.version,
        "run_id": registered.run_id,
        "reason": reason,
        "trigger": trigger,
        "until": until,
        "labelled_batch_rows": len(labelled),
        "training_window": list(training),
        "holdout_window": list(holdout),
        "scores": scores,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.retrain", description=__doc__)
    parser.add_argument(
        "--until",
        default=None,
        help="the newest labelled day, YYYY-MM-DD (default: the newest labelled batch's)",
    )
    parser.add_argument("--source", default=None, help="default: BIKE_SHARING_SOURCE")
    parser.add_argument("--margin", type=float, default=RETRAIN_MARGIN)
    args = parser.parse_args(argv)
    if args.until is not None:
        try:
            date.fromisoformat(args.until)
        except ValueError:
            parser.error(f"--until {args.until!r} is not a date (YYYY-MM-DD)")
    try:
        result = retrain(args.until, args.source, args.margin)
    except (RegistryError, NoLabels, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
