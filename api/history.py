"""The evaluation and decision history, in MLflow, written off the request path.

`/evaluate` and `/alerts` put what they produced into an outbox (a SQLite table in STATE_DIR,
committed before the response is sent), and a background thread writes each entry to MLflow as
a run: evaluations in `bike-demand-evaluations`, decisions in
`bike-demand-retraining-decisions`. A write that fails (the server is down) stays in the outbox
and is retried with backoff; each attempt is counted (`model_history_writes_total`). The
response never waits on MLflow and a failed write never fails the evaluation.

The registry is the evaluation gauges' shared truth: every process follows the newest evaluation
of the model it serves there, at start-up (a restart does not read as "never evaluated") and
then at every poll of the champion (MODEL_POLL_SECONDS). An evaluation that lands on one replica
is shown by every replica within a poll of its run being written, so the dashboards' one value
across replicas is the evaluation's, not whichever replica answered /evaluate.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from api import logs
from api.config import FEATURES
from api.evaluation.result import EvaluationResult
from api.metrics import Metrics
from api.registry import DECISIONS_EXPERIMENT, EVALUATIONS_EXPERIMENT, Registry, RegistryError
from api.retraining import Decision

__all__ = [
    "BATCH_ARTIFACT",
    "HISTORY_FILE",
    "LABELLED_FROM_TAG",
    "LABELLED_UNTIL_TAG",
    "MAX_LISTED",
    "History",
    "LabelledBatch",
    "ServedModel",
]

log = logs.get("history")

HISTORY_FILE = "history.db"
# GET /evaluations lists at most this many runs: one page of a table, a bounded MLflow query.
MAX_LISTED = 100
# Backoff of a failed write: 5 s doubling up to 5 min, so a server down for hours costs one
# attempt per entry every 5 minutes.
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0
# Entries written per pass; the rest wait for the next one.
BATCH = 20
# The outbox keeps at most this many entries (the oldest are dropped, and logged): bounded disk
# when MLflow stays unreachable for weeks.
OUTBOX_MAX = 10_000
# Queued entries keep their labelled batch (up to ~0.6 MB each, 10,000 rows) only among the
# newest 100: at most ~60 MB of labels wait for MLflow; older entries keep their scores only.
BATCHES_QUEUED_MAX = 100
Kind = Literal["evaluation", "decision"]
# (card version, registry version or "", run id or ""): the model an evaluation scored.
ServedModel = tuple[str, str, str]
SCORES = ("rmse", "mae", "r2", "mape")
# A labelled batch as /evaluate received it (dteday, the 11 features, cnt: CSV), kept with its
# evaluation's run: the retrain flow trains on these labels too. Its first and last days are
# tags, so the flow finds how far the labels reach without reading every batch.
BATCH_ARTIFACT = "labelled/batch.csv"
LABELLED_FROM_TAG = "labelled_from"
LABELLED_UNTIL_TAG = "labelled_until"


@dataclass(frozen=True)
class LabelledBatch:
    """The labelled rows of one evaluation, as CSV, and the first and last day they cover."""

    csv: str
    first_day: str
    last_day: str


DRIFT_SCORE_PREFIX = "feature_drift_score."


class History:
    """The outbox, its writer thread, the gauges following the registry, and the listing."""

    def __init__(
        self,
        path: Path,
        registry: Registry,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.time,
        follow_seconds: float = 30.0,
    ) -> None:
        self._path = path
        self._registry = registry
        self._metrics = metrics
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._follow_seconds = follow_seconds
        # The time of the evaluation the gauges show (None: none yet), under `_shown_lock`, so
        # the follower never replaces a newer evaluation published by a request meanwhile.
        self._shown_at: float | None = None
        self._shown_lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
            # A new process tries what is queued at once (the store may be back).
            db.execute("UPDATE outbox SET next_try = 0")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    # Recording (request path: one local insert) ---------------------------------------------

    def record_evaluation(
        self,
        period: str,
        result: EvaluationResult,
        model: ServedModel,
        threshold: float,
        at: float,
        batch: LabelledBatch | None = None,
    ) -> None:
        """Queue the evaluation for MLflow, then publish it as the gauges. Queued first: the
        other workers of this replica follow the registry only while the outbox is empty, so
        none of them can publish an older evaluation over this one."""
        payload = {
            "batch": asdict(batch) if batch is not None else None,
            "period": period,
            "at": at,
            "result": {k: v for k, v in asdict(result).items() if not k.endswith("_path")},
            "html": str(result.html_path) if result.html_path else None,
            "json": str(result.json_path) if result.json_path else None,
            "model": list(model),
            "threshold": threshold,
        }
        self._put("evaluation", payload)
        self._show(result, at)

    def _show(self, result: EvaluationResult, at: float) -> bool:
        """Publish `result` (evaluated at `at`) unless the gauges show a newer one."""
        with self._shown_lock:
            # MLflow keeps a run's start in milliseconds: the same evaluation read back is not
            # newer than the one published.
            if self._shown_at is not None and at <= self._shown_at + 0.001:
                return False
            self._metrics.publish_evaluation(result, at)
            self._shown_at = at
            return True

    def record_decision(self, decision: Decision, at: float) -> None:
        payload = {**asdict(decision), "starts_at": decision.starts_at.isoformat(), "at": at}
        self._put("decision", payload)

    def _put(self, kind: Kind, payload: dict[str, Any]) -> None:
        """Queue an entry; a local failure (disk full) is logged and counted, never raised: the
        history must not fail the evaluation or the decision it records."""
        try:
            self._insert(kind, payload)
        except (sqlite3.Error, OSError) as exc:
            self._metrics.model_history_writes.labels(kind, "failed").inc()
            log.error("%s not queued for MLflow (lost from the history): %s", kind, exc)

    def _insert(self, kind: Kind, payload: dict[str, Any]) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "INSERT INTO outbox (kind, payload, attempts, next_try) VALUES (?, ?, 0, 0)",
                (kind, json.dumps(payload, default=str)),
            )
            dropped = db.execute(
                "DELETE FROM outbox WHERE id <= (SELECT max(id) FROM outbox) - ?", (OUTBOX_MAX,)
            ).rowcount
            stripped = db.execute(
                "UPDATE outbox SET payload = json_set(payload, '$.batch', json('null')) "
                "WHERE kind = 'evaluation' AND id <= (SELECT max(id) FROM outbox) - ? "
                "AND json_extract(payload, '$.batch') IS NOT NULL",
                (BATCHES_QUEUED_MAX,),
            ).rowcount
        if dropped:
            log.error("the history outbox is full: %d oldest entries dropped", dropped)
        if stripped:
            log.error("the history outbox holds too many batches: %d kept without theirs", stripped)
        self._wake.set()

    def pending(self) -> int:
        with closing(self._connect()) as db:
            (count,) = db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    # Writing (background) -------------------------------------------------------------------

    def start(self, served: Callable[[], str | None]) -> None:
        """Write the outbox in the background; whenever the outbox is written, follow the newest
        evaluation of `served()` (the registry version served, once known) every
        `follow_seconds`."""
        self._thread = threading.Thread(
            target=self._run, args=(served,), name="bike-api-history", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _run(self, served: Callable[[], str | None]) -> None:
        next_follow = 0.0
        while not self._stop.is_set():
            try:
                wait = self.flush()
            except (sqlite3.Error, OSError) as exc:
                log.error("the history outbox cannot be read: %s", exc)
                wait = RETRY_MAX_SECONDS
            version = served()
            if version is None:
                # The model is not there yet: look again soon.
                wait = min(wait, 1.0)
            # Not while this replica's own runs wait to be written (it would follow an older
            # evaluation than its own): the flush that writes them comes first.
            elif self.pending() == 0:
                if self._clock() >= next_follow:
                    try:
                        self.follow(version)
                        next_follow = self._clock() + self._follow_seconds
                    except RegistryError as exc:
                        log.warning("the newest evaluation could not be read: %s", exc)
                        next_follow = self._clock() + RETRY_FIRST_SECONDS
                wait = min(wait, max(0.0, next_follow - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()

    def flush(self) -> float:
        """Write what is due; returns the seconds until the next entry is due (at most 60).

        One worker writes at a time (a lock file beside the outbox), so two workers never log
        the same entry twice."""
        lock_path = self._path.with_suffix(".lock")
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return RETRY_FIRST_SECONDS
            return self._flush_locked()

    def _flush_locked(self) -> float:
        now = self._clock()
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT id, kind, payload, attempts FROM outbox WHERE next_try <= ? "
                "ORDER BY id LIMIT ?",
                (now, BATCH),
            ).fetchall()
            for entry_id, kind, payload, attempts in rows:
                try:
                    self._write(kind, json.loads(payload))
                except (ValueError, KeyError, TypeError) as exc:
                    # An entry that can never be written (not what this version queues):
                    # dropped, said and counted, so it does not block the ones behind it.
                    self._metrics.model_history_writes.labels(kind, "failed").inc()
                    log.error("history entry %d dropped, unreadable: %r", entry_id, exc)
                    db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))
                    continue
                except RegistryError as exc:
                    self._metrics.model_history_writes.labels(kind, "failed").inc()
                    delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**attempts)
                    db.execute(
                        "UPDATE outbox SET attempts = ?, next_try = ? WHERE id = ?",
                        (attempts + 1, now + delay, entry_id),
                    )
                    log.warning(
                        "%s not written to MLflow (attempt %d, next in %.0f s): %s",
                        kind,
                        attempts + 1,
                        delay,
                        exc,
                    )
                    # The store is down: the others would fail the same way.
                    break
                self._metrics.model_history_writes.labels(kind, "success").inc()
                db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))
            (due,) = db.execute("SELECT min(next_try) FROM outbox").fetchone()
        if due is None:
            return 60.0
        return max(0.0, min(60.0, due - self._clock()))

    def _write(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "evaluation":
            self._write_evaluation(payload)
        else:
            self._write_decision(payload)

    def _write_evaluation(self, payload: dict[str, Any]) -> None:
        result = payload["result"]
        card_version, registry_version, model_run = payload["model"]
        metrics = {k: result[k] for k in SCORES if result.get(k) is not None}
        metrics["drift_share"] = result["drift_share"]
        metrics["drift_detected"] = 1.0 if result["drift_detected"] else 0.0
        metrics["rows"] = result["rows"]
        for feature, score in result.get("feature_drift_scores", {}).items():
            if score is not None:
                metrics[DRIFT_SCORE_PREFIX + feature] = score
        files = tuple(Path(p) for p in (payload["html"], payload["json"]) if p)
        batch = payload.get("batch")
        labelled = {}
        if batch:
            labelled[LABELLED_FROM_TAG] = batch["first_day"]
            labelled[LABELLED_UNTIL_TAG] = batch["last_day"]
        self._registry.log_run(
            EVALUATIONS_EXPERIMENT,
            run_name=payload["period"][:200],
            start_time=payload["at"],
            metrics=metrics,
            params={"drift_share_threshold": payload["threshold"]},
            tags={
                "period": payload["period"][:500],
                "model_version": card_version,
                "model_registry_version": registry_version,
                "model_run_id": model_run,
                "drifted_features": ",".join(result.get("drifted_features", ())),
                **labelled,
            },
            artifacts=files,
            texts={BATCH_ARTIFACT: batch["csv"]} if batch else None,
        )

    def _write_decision(self, payload: dict[str, Any]) -> None:
        self._registry.log_run(
            DECISIONS_EXPERIMENT,
            run_name=f"{payload['decision']} {payload['alertname']}"[:200],
            start_time=payload["at"],
            metrics={"retraining_triggered": float(payload["decision"] == "RETRAINING_TRIGGERED")},
            tags={
                k: str(payload[k])[:500]
                for k in ("alertname", "status", "decision", "reason", "fingerprint", "starts_at")
            },
        )

    # Reading --------------------------------------------------------------------------------

    def evaluations(self, limit: int) -> list[dict[str, Any]]:
        """Evaluations from the store, newest first (RegistryError when it cannot be read)."""
        runs = self._registry.runs(EVALUATIONS_EXPERIMENT, limit=min(limit, MAX_LISTED))
        return [_listed(run) for run in runs]

    def follow(self, registry_version: str) -> bool:
        """Publish the newest evaluation of `registry_version` in the registry as the gauges,
        unless they show it (or a newer one) already; True when it was published."""
        runs = self._registry.runs(
            EVALUATIONS_EXPERIMENT,
            limit=1,
            filter_string=f"tags.model_registry_version = '{_quoted(registry_version)}'",
        )
        if not runs:
            return False
        run = runs[0]
        metrics = run["metrics"]
        result = EvaluationResult(
            rows=int(metrics.get("rows", 0)),
            rmse=metrics.get("rmse"),
            mae=metrics.get("mae"),
            r2=metrics.get("r2"),
            mape=metrics.get("mape"),
            drift_share=float(metrics.get("drift_share", 0.0)),
            drift_detected=bool(metrics.get("drift_detected", 0.0)),
            drifted_features=tuple(
                f for f in run["tags"].get("drifted_features", "").split(",") if f
            ),
            feature_drift_scores={
                f: metrics[DRIFT_SCORE_PREFIX + f]
                for f in FEATURES
                if DRIFT_SCORE_PREFIX + f in metrics
            },
        )
        if not self._show(result, run["start_time"]):
            return False
        log.info(
            "gauges show evaluation %r of version %s (run %s, %s)",
            run["tags"].get("period"),
            registry_version,
            run["run_id"],
            datetime.fromtimestamp(run["start_time"], UTC).isoformat(timespec="seconds"),
        )
        return True


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _listed(run: dict[str, Any]) -> dict[str, Any]:
    metrics, tags = run["metrics"], run["tags"]
    return {
        "run_id": run["run_id"],
        "evaluated_at": datetime.fromtimestamp(run["start_time"], UTC).isoformat(),
        "period": tags.get("period"),
        "model_version": tags.get("model_version"),
        "model_registry_version": tags.get("model_registry_version") or None,
        "rows": int(metrics["rows"]) if "rows" in metrics else None,
        "rmse": metrics.get("rmse"),
        "mae": metrics.get("mae"),
        "r2": metrics.get("r2"),
        "mape": metrics.get("mape"),
        "drift_share": metrics.get("drift_share"),
        "drift_detected": bool(metrics.get("drift_detected", 0.0)),
    }


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, payload TEXT, attempts INTEGER,
    next_try REAL
);
"""
