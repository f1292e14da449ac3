"""RETRAINING_TRIGGERED decisions delivered to Prefect: one `retrain` flow run per drift episode.

The decision log (api/retraining.py) records a trigger in its SQLite file in the transaction
that records the decision, so nothing decided lives only in memory. A background thread in each
API worker delivers the due triggers (one worker at a time: a lock file) to the Prefect
server's REST API (`PREFECT_API_URL`, basic auth from `PREFECT_API_AUTH_STRING`, as Prefect's
own client sends it):

1. find the deployment (`RETRAIN_DEPLOYMENT`, served by the retrain worker, flows/worker.py);
2. if a run of it is scheduled, pending or running, the trigger is recorded as `skipped` with
   that run's id (a second episode while one retrains does not start another); older triggers
   still pending are superseded by the newest (skipped too), so one trigger at most waits;
3. otherwise create a flow run whose idempotency key is the trigger's key: a retried delivery
   whose first answer was lost finds its own run instead of making a second one.

A delivery that fails (the server is down, a 5xx, no deployment yet) stays pending and is retried
with backoff, 5 s doubling to 5 minutes; each failure is counted (`retried`). The API never
imports Prefect: this is a few REST calls.
"""

from __future__ import annotations

import base64
import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from api import logs
from api.config import DEFAULT_DEPLOYMENT
from api.metrics import Metrics

__all__ = [
    "ACTIVE_STATES",
    "DEFAULT_DEPLOYMENT",
    "PrefectClient",
    "PrefectError",
    "TriggerDelivery",
    "TriggerRecord",
    "last_trigger_time",
]

log = logs.get("retraining")

# A run in one of these states is "one already running": a new trigger is recorded, not started.
ACTIVE_STATES = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")
# Backoff of a failed delivery: 5 s doubling to 5 min (the start-deadline alert gives it 10 min).
RETRY_FIRST_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0
# One REST call's limit: the Prefect server answers these in milliseconds when it is up.
TIMEOUT_SECONDS = 10.0
# How often an idle worker looks for triggers another worker recorded (the one that records a
# trigger wakes its own deliverer at once).
POLL_SECONDS = 5.0
# A delivery in progress holds its trigger this long; a worker that dies mid-delivery leaves it
# to the next pass after that.
LEASE_SECONDS = 60.0


class PrefectError(Exception):
    """The Prefect server could not be reached or refused the call (one line, no secrets)."""


@dataclass(frozen=True)
class TriggerRecord:
    """One trigger and what became of it."""

    key: str
    decided_at: float
    state: str  # pending, started, skipped, unconfigured
    attempts: int
    flow_run_id: str | None
    detail: str | None


class PrefectClient:
    """The three REST calls the API needs from a Prefect 3 server."""

    def __init__(
        self, api_url: str, auth_string: str | None, timeout: float = TIMEOUT_SECONDS
    ) -> None:
        self._url = api_url.rstrip("/")
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or netrc from the environment
        if auth_string:
            token = base64.b64encode(auth_string.encode()).decode()
            self._session.headers["Authorization"] = f"Basic {token}"
        self._timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._session.request(
                method, self._url + path, json=body, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise PrefectError(f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise PrefectError(f"{method} {path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise PrefectError(f"{method} {path}: the answer is not JSON") from None

    def deployment_id(self, name: str) -> str:
        flow, _, deployment = name.partition("/")
        found = self._call("GET", f"/deployments/name/{flow}/{deployment}")
        return str(found["id"])

    def active_run(self, deployment_id: str) -> dict[str, Any] | None:
        runs = self._call(
            "POST",
            "/flow_runs/filter",
            {
                "deployments": {"id": {"any_": [deployment_id]}},
                "flow_runs": {"state": {"type": {"any_": list(ACTIVE_STATES)}}},
                "limit": 1,
            },
        )
        return runs[0] if runs else None

    def create_run(
        self, deployment_id: str, key: str, parameters: dict[str, Any], tags: list[str]
    ) -> str:
        run = self._call(
            "POST",
            f"/deployments/{deployment_id}/create_flow_run",
            {"idempotency_key": key, "parameters": parameters, "tags": tags},
        )
        return str(run["id"])


class TriggerDelivery:
    """The deliverer thread of one API worker, over the decision log's `triggers` table."""

    def __init__(
        self,
        path: Path,
        metrics: Metrics,
        client: PrefectClient,
        deployment: str = DEFAULT_DEPLOYMENT,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._metrics = metrics
        self._client = client
        self._deployment = deployment
        self._clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="bike-api-trigger", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Deliver now (a trigger was just recorded)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * TIMEOUT_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.deliver_due()
            except (sqlite3.Error, OSError) as exc:
                log.error("the retraining triggers cannot be read: %s", exc)
                wait = RETRY_MAX_SECONDS
            except Exception:  # a bug must not end the deliveries: logged, tried again later
                log.exception("retraining trigger delivery failed unexpectedly")
                wait = RETRY_MAX_SECONDS
            self._wake.wait(wait)
            self._wake.clear()

    def deliver_due(self) -> float:
        """Deliver every due trigger; the seconds until the next is due (at most POLL_SECONDS).
        One worker delivers at a time (a lock file beside the decision log)."""
        with open(self._path.with_suffix(".trigger.lock"), "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return POLL_SECONDS
            while not self._stop.is_set():
                claimed = self._claim()
                if claimed is None:
                    break
                if not self._deliver(*claimed):
                    break  # the server is down: the others would fail the same way
            return self._next_due()

    def _claim(self) -> tuple[int, str, int] | None:
        """The newest due pending trigger, leased to this pass; the older pending ones are
        superseded (recorded as skipped): one run answers them all, and however many episodes
        pass while Prefect is down, one trigger waits for it."""
        now = self._clock()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT id, key, attempts FROM triggers WHERE state = 'pending' AND next_try <= ? "
                "ORDER BY id DESC LIMIT 1",
                (now,),
            ).fetchone()
            superseded = 0
            if row is not None:
                db.execute(
                    "UPDATE triggers SET next_try = ? WHERE id = ?", (now + LEASE_SECONDS, row[0])
                )
                superseded = db.execute(
                    "UPDATE triggers SET state = 'skipped', detail = ?, updated_at = ? "
                    "WHERE state = 'pending' AND id < ?",
                    (f"superseded by the newer trigger {row[1]}"[:500], now, row[0]),
                ).rowcount
            db.execute("COMMIT")
        if superseded:
            self._metrics.model_retraining_triggers.labels("skipped").inc(superseded)
            log.info("%d older retraining triggers superseded by %s", superseded, row[1])
        return None if row is None else (int(row[0]), str(row[1]), int(row[2]))

    def _deliver(self, trigger_id: int, key: str, attempts: int) -> bool:
        try:
            deployment = self._client.deployment_id(self._deployment)
            active = self._client.active_run(deployment)
            if active is not None and active.get("idempotency_key") != key:
                state, run_id = "skipped", str(active["id"])
                detail = (
                    f"flow run {active.get('name', run_id)} is already "
                    f"{str(active.get('state_type', 'active')).lower()}"
                )
            else:
                run_id = (
                    str(active["id"])
                    if active is not None
                    else self._client.create_run(
                        deployment, key, {"trigger": key}, ["bikewatch", "drift"]
                    )
                )
                state, detail = "started", None
        except (PrefectError, KeyError, TypeError, IndexError) as exc:
            delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2**attempts)
            self._update(
                trigger_id,
                "pending",
                attempts + 1,
                self._clock() + delay,
                None,
                f"attempt {attempts + 1}: {exc}"[:500],
            )
            self._metrics.model_retraining_triggers.labels("retried").inc()
            log.warning(
                "retraining trigger %s not delivered to Prefect (attempt %d, next in %.0f s): %s",
                key,
                attempts + 1,
                delay,
                exc,
            )
            return False
        self._update(trigger_id, state, attempts + 1, 0.0, run_id, detail)
        self._metrics.model_retraining_triggers.labels(state).inc()
        if state == "skipped":
            # The active run answers this decision: the start-deadline alert must not wait
            # for another run.
            last = last_trigger_time(self._path)
            if last is not None:
                self._metrics.model_retraining_last_trigger.set(last)
        if state == "started":
            log.info("retraining trigger %s: retrain flow run %s created", key, run_id)
        else:
            log.info("retraining trigger %s recorded, not started: %s", key, detail)
        return True

    def _update(
        self,
        trigger_id: int,
        state: str,
        attempts: int,
        next_try: float,
        run_id: str | None,
        detail: str | None,
    ) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE triggers SET state = ?, attempts = ?, next_try = ?, flow_run_id = ?, "
                "detail = ?, updated_at = ? WHERE id = ?",
                (state, attempts, next_try, run_id, detail, self._clock(), trigger_id),
            )

    def _next_due(self) -> float:
        with closing(self._connect()) as db:
            (due,) = db.execute(
                "SELECT min(next_try) FROM triggers WHERE state = 'pending'"
            ).fetchone()
            (pending,) = db.execute(
                "SELECT count(*) FROM triggers WHERE state = 'pending'"
            ).fetchone()
        self._metrics.model_retraining_triggers_pending.set(pending)
        if due is None:
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, due - self._clock()))


def last_trigger_time(path: Path) -> float | None:
    """Time of the newest trigger not skipped, 0.0 when every one was, None without any."""
    with closing(sqlite3.connect(path, timeout=TIMEOUT_SECONDS)) as db:
        (last,) = db.execute(
            "SELECT max(decided_at) FROM triggers WHERE state != 'skipped'"
        ).fetchone()
        (count,) = db.execute("SELECT count(*) FROM triggers").fetchone()
    if last is None:
        return 0.0 if count else None
    return float(last)
