"""The retraining decision taken on each Alertmanager alert, a bounded log of the decisions, and
the retraining triggers they record (delivered to Prefect by api/prefect_trigger.py)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from api import logs
from api.metrics import Metrics
from api.prefect_trigger import TriggerRecord, last_trigger_time

__all__ = [
    "DECISIONS_FILE",
    "HISTORY_SIZE",
    "REASON_LABEL",
    "Decision",
    "DecisionLog",
    "DecisionName",
    "Reason",
    "decide",
    "possible_decisions",
    "trigger_key",
]

logger = logs.get("retraining")

DecisionName = Literal["RETRAINING_TRIGGERED", "NO_ACTION"]
Reason = Literal["data_drift", "model_quality", "resolved", "other_alert"]

# The alert label that says why an alert may call for retraining; the rules set it (see
# rules_py/model.py), so the API decides without knowing any alert's name.
REASON_LABEL = "retraining_reason"
# The course's monitor flow retrains on data drift; quality alerts are recorded under their own
# reason so the dashboard tells "the model misfits" from "the inputs moved".
RETRAIN_ON: frozenset[Reason] = frozenset({"data_drift"})
# The reasons an alert's label may give ("resolved" and "other_alert" are the API's own).
LABELLED_REASONS: dict[str, Reason] = {"data_drift": "data_drift", "model_quality": "model_quality"}
# Enough to show the last drills on a dashboard or in a test; older decisions live in the logs
# and in the counter. Every field of a decision is bounded in bytes by the webhook's schema, so
# the history is bounded in bytes too, whatever Alertmanager (or anyone) sends.
HISTORY_SIZE = 100
# Alertmanager re-sends a firing alert on every group change and repeat interval; remembering
# this many (fingerprint, startsAt, status) keys keeps one decision per alert occurrence.
SEEN_SIZE = 1000
# How long a worker waits for another's write to the decision file.
BUSY_TIMEOUT_SECONDS = 10.0
DECISIONS_FILE = "decisions.db"
# In the compose stack the drift rule fires twice, once from Prometheus and once from its
# Grafana-managed twin (other labels, so another fingerprint); both reach /alerts. While one
# occurrence of a retraining alert is open, another one of the same alertname joins it instead
# of retraining again; the episode's `resolved` is recorded when its last occurrence resolves.


@dataclass(frozen=True)
class Decision:
    """What the API decided for one alert occurrence (the course's monitor-flow decision)."""

    alertname: str
    status: Literal["firing", "resolved"]
    decision: DecisionName
    reason: Reason
    fingerprint: str
    starts_at: datetime
    # Unix time the API took the decision (None only for a decision not yet recorded).
    decided_at: float | None = None


def decide(
    labels: Mapping[str, str], status: Literal["firing", "resolved"]
) -> tuple[DecisionName, Reason]:
    """Retrain on a firing alert labelled `retraining_reason="data_drift"`; record everything
    else without acting.

    A model-quality alert alone does not retrain: a high RMSE on a week of unusual weather is
    noise until the inputs themselves have moved, which is what the drift alert measures.
    """
    if status == "resolved":
        return "NO_ACTION", "resolved"
    reason = LABELLED_REASONS.get(labels.get(REASON_LABEL, ""), "other_alert")
    return ("RETRAINING_TRIGGERED" if reason in RETRAIN_ON else "NO_ACTION"), reason


def possible_decisions() -> list[tuple[DecisionName, Reason]]:
    """Every (decision, reason) `decide` can return: the counter's label sets, started at 0."""
    labels = [{REASON_LABEL: reason} for reason in LABELLED_REASONS] + [{}]
    return sorted({decide(lab, status) for lab in labels for status in ("firing", "resolved")})


class DecisionLog:
    """Records decisions once per alert occurrence, for every worker of the API on this host:
    the occurrences seen, the open episodes and the history live in one SQLite file (WAL), each
    decision taken in one write transaction, so two workers receiving the same alert decide it
    once. Each decision is logged and counted by the process that takes it.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> log = DecisionLog(Metrics(CollectorRegistry()), Path("/tmp/decisions.db"))
        >>> log.history()  # doctest: +SKIP
        []
    """

    def __init__(
        self,
        metrics: Metrics,
        path: Path,
        size: int = HISTORY_SIZE,
        *,
        prefect_configured: bool = False,
    ) -> None:
        self._metrics = metrics
        self._path = path
        self._size = size
        # Without a Prefect server a trigger is recorded as `unconfigured`: nothing will start it.
        self._trigger_state = "pending" if prefect_configured else "unconfigured"
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)
        last = self.last_trigger_time()
        if last is not None:
            # Restored: the start-deadline alert compares it with the retrain worker's runs.
            metrics.model_retraining_last_trigger.set(last)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record(
        self,
        labels: Mapping[str, str],
        status: Literal["firing", "resolved"],
        fingerprint: str,
        starts_at: datetime,
    ) -> Decision | None:
        """The new decision, or None when this occurrence was already decided (a re-send, or
        the same alert delivered to another worker) or joins an open episode."""
        alertname = labels.get("alertname", "")
        decision, reason = decide(labels, status)
        entry = Decision(
            alertname, status, decision, reason, fingerprint, starts_at, decided_at=time.time()
        )
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes
            try:
                taken = self._take(db, entry)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        if not taken:
            return None
        self._metrics.model_retraining_decisions.labels(decision=decision, reason=reason).inc()
        suffix = ""
        if decision == "RETRAINING_TRIGGERED":
            self._metrics.model_retraining_last_trigger.set(time.time())
            if self._trigger_state == "unconfigured":
                self._metrics.model_retraining_triggers.labels("unconfigured").inc()
                suffix = " (recorded, not started: no PREFECT_API_URL)"
            else:
                suffix = " (a retrain flow run is requested from Prefect)"
        logger.info(
            "decision: alert %r is %s -> %s (%s)%s", alertname, status, decision, reason, suffix
        )
        return entry

    def _take(self, db: sqlite3.Connection, entry: Decision) -> bool:
        """Inside the write transaction: True when `entry` is a new decision (and stored)."""
        key = (entry.fingerprint, entry.starts_at.isoformat(), entry.status)
        seen = db.execute(
            "INSERT OR IGNORE INTO occurrences VALUES (?, ?, ?, ?)", (*key, time.time())
        )
        if seen.rowcount == 0:
            return False
        db.execute(
            "DELETE FROM occurrences WHERE rowid NOT IN "
            "(SELECT rowid FROM occurrences ORDER BY seen_at DESC LIMIT ?)",
            (SEEN_SIZE,),
        )
        if self._joins_open_episode(db, entry):
            return False
        db.execute(
            "INSERT INTO decisions (decided_at, alertname, status, decision, reason, "
            "fingerprint, starts_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.decided_at,
                entry.alertname,
                entry.status,
                entry.decision,
                entry.reason,
                *key[:2],
            ),
        )
        db.execute(
            "DELETE FROM decisions WHERE id <= (SELECT max(id) FROM decisions) - ?", (self._size,)
        )
        if entry.decision == "RETRAINING_TRIGGERED":
            now = entry.decided_at
            db.execute(
                "INSERT OR IGNORE INTO triggers (key, decided_at, state, attempts, next_try, "
                "updated_at) VALUES (?, ?, ?, 0, 0, ?)",
                (trigger_key(entry), now, self._trigger_state, now),
            )
            # Bounded like the decisions; a pending trigger is never dropped unsent.
            db.execute(
                "DELETE FROM triggers WHERE state != 'pending' AND id <= "
                "(SELECT max(id) FROM triggers) - ?",
                (self._size,),
            )
        return True

    @staticmethod
    def _joins_open_episode(db: sqlite3.Connection, entry: Decision) -> bool:
        """Track open retraining episodes; True when this occurrence joins one already decided."""
        name, fingerprint = entry.alertname, entry.fingerprint
        (open_,) = db.execute(
            "SELECT count(*) FROM open_episodes WHERE alertname = ?", (name,)
        ).fetchone()
        if entry.decision == "RETRAINING_TRIGGERED":
            if open_ < SEEN_SIZE:
                db.execute("INSERT OR IGNORE INTO open_episodes VALUES (?, ?)", (name, fingerprint))
            return bool(open_)
        if entry.status == "resolved":
            gone = db.execute(
                "DELETE FROM open_episodes WHERE alertname = ? AND fingerprint = ?",
                (name, fingerprint),
            ).rowcount
            # The episode ends when its last occurrence resolves: that one is recorded.
            return bool(gone) and open_ > 1
        return False

    def history(self) -> list[Decision]:
        """Recorded decisions, oldest first (at most HISTORY_SIZE)."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT alertname, status, decision, reason, fingerprint, starts_at, decided_at "
                "FROM decisions ORDER BY id"
            ).fetchall()
        return [
            Decision(name, status, decision, reason, fingerprint, datetime.fromisoformat(start), at)
            for name, status, decision, reason, fingerprint, start, at in rows
        ]

    def triggers(self) -> list[TriggerRecord]:
        """Recorded retraining triggers, oldest first."""
        with closing(self._connect()) as db:
            rows = db.execute(
                "SELECT key, decided_at, state, attempts, flow_run_id, detail FROM triggers "
                "ORDER BY id"
            ).fetchall()
        return [TriggerRecord(*row) for row in rows]

    def last_trigger_time(self) -> float | None:
        """The newest trigger that should start a run (see MODEL_RETRAINING_LAST_TRIGGER)."""
        return last_trigger_time(self._path)


def trigger_key(entry: Decision) -> str:
    """The trigger's key, Prefect's idempotency key for its flow run: the alert occurrence."""
    return f"{entry.alertname}/{entry.fingerprint}/{entry.starts_at.isoformat()}"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS occurrences (
    fingerprint TEXT, starts_at TEXT, status TEXT, seen_at REAL,
    PRIMARY KEY (fingerprint, starts_at, status)
);
CREATE TABLE IF NOT EXISTS open_episodes (
    alertname TEXT, fingerprint TEXT, PRIMARY KEY (alertname, fingerprint)
);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, decided_at REAL, alertname TEXT, status TEXT,
    decision TEXT, reason TEXT, fingerprint TEXT, starts_at TEXT
);
CREATE TABLE IF NOT EXISTS triggers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, decided_at REAL, state TEXT,
    attempts INTEGER, next_try REAL, flow_run_id TEXT, detail TEXT, updated_at REAL
);
"""
