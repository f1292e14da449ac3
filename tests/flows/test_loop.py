"""The retraining loop on a real Prefect server, a real retrain worker (flows/worker.py, the
flows' environment) and a real MLflow store: the API's decision log and trigger delivery start
one flow run per drift episode, the run promotes a better challenger, a second one does not, a
Prefect server that is down delays the run without losing it, and a run that fails mid-way
promotes nothing and is counted."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from api.config import FEATURES, TARGET
from api.data import load_hourly
from api.evaluation.result import EvaluationResult
from api.history import History, LabelledBatch
from api.metrics import Metrics
from api.model import CARD_FILE
from api.prefect_trigger import PrefectClient, PrefectError, TriggerDelivery
from api.registry import TRAINING_EXPERIMENT, Registry
from api.retraining import DecisionLog
from api.train import register
from authoring.profiles import LOCAL
from devtools.local.plan import FLOWS_PYTHON, prefect_service, retrain_worker_service
from devtools.local.processes import Stack, free_port
from tests.api.mlflow_store import migrated_store

__all__ = ["migrated_store"]

ADMIN = "admin:loop-test-secret"
LOGIN = ("admin", "loop-test-secret")
DRIFT = {"alertname": "BikeDataDriftDetected", "retraining_reason": "data_drift"}
T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
DEPLOYMENT = "retrain/retrain"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# The labelled batch the API evaluated: the last week of July 2011 (the drift drill's).
BATCH_DAYS = ("2011-07-25", "2011-07-31")


@dataclass
class Loop:
    api_url: str
    worker_metrics: str
    registry: Registry
    artifacts: Path
    tmp: Path

    def client(self, url: str | None = None) -> PrefectClient:
        return PrefectClient(url or self.api_url, ADMIN)

    def wait_run(self, run_id: str, timeout: float = 240.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = httpx.get(f"{self.api_url}/flow_runs/{run_id}", auth=LOGIN)
            run.raise_for_status()
            body: dict[str, Any] = run.json()
            if body["state_type"] in TERMINAL:
                return body
            time.sleep(1.0)
        raise AssertionError(f"flow run {run_id} did not finish in {timeout:.0f} s")

    def worker_samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(f"http://{self.worker_metrics}/metrics").text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def runs_by_outcome(self) -> dict[str, float]:
        samples = self.worker_samples()
        return {
            outcome: samples[("retrain_flow_runs_total", (("outcome", outcome),))]
            for outcome in ("promoted", "rejected", "failed")
        }


@pytest.fixture(scope="module")
def loop(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_store: Path,
    model_dir: Path,
    dataset_source: str,
) -> Iterator[Loop]:
    assert FLOWS_PYTHON.is_file(), "the flows' environment is missing: run `make flows-env`"
    tmp = tmp_path_factory.mktemp("loop")
    (tmp / "mlruns").mkdir()
    shutil.copy(migrated_store, tmp / "mlruns" / "mlflow.db")
    uri = f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}"
    artifacts = tmp / "mlruns" / "artifacts"
    registry = Registry(uri, artifacts)
    card = json.loads((model_dir / CARD_FILE).read_text())
    register(registry, model_dir, card, promote=True, trigger="manual")
    _evaluated_batch(registry, tmp, dataset_source)

    profile = replace(
        LOCAL, prefect=f"127.0.0.1:{free_port()}", retrain_worker=f"127.0.0.1:{free_port()}"
    )
    stack = Stack(tmp / "run", profile)
    env = {
        "MLFLOW_TRACKING_URI": uri,
        "MLFLOW_ARTIFACTS_DIR": str(artifacts),
        "BIKE_SHARING_SOURCE": dataset_source,
    }
    try:
        stack.start(prefect_service(profile, tmp / "run", ADMIN, ui=False), timeout=180)
        stack.start(
            retrain_worker_service(profile, tmp / "run", ADMIN, tmp / "state", env), timeout=120
        )
        api_url = f"http://{profile.prefect}/api"
        _wait_deployment(PrefectClient(api_url, ADMIN))
        yield Loop(api_url, profile.retrain_worker, registry, artifacts, tmp)
    finally:
        stack.stop_all()


def _evaluated_batch(registry: Registry, tmp: Path, source: str) -> None:
    """What /evaluate leaves in MLflow for a labelled batch (through the API's history)."""
    rows = load_hourly(source).loc[f"{BATCH_DAYS[0]} 00:00:00" : f"{BATCH_DAYS[1]} 23:00:00"]
    csv = rows[["dteday", *FEATURES, TARGET]].to_csv(index=False)
    history = History(tmp / "history.db", registry, Metrics(CollectorRegistry()))
    result = EvaluationResult(
        rows=len(rows),
        rmse=150.0,
        mae=100.0,
        r2=0.1,
        mape=60.0,
        drift_share=0.64,
        drift_detected=True,
        drifted_features=("temp", "atemp"),
        feature_drift_scores={},
    )
    batch = LabelledBatch(csv, *BATCH_DAYS)
    history.record_evaluation("july_week", result, ("v", "1", "r"), 0.3, time.time(), batch)
    history.flush()
    assert history.pending() == 0


def _wait_deployment(client: PrefectClient, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.deployment_id(DEPLOYMENT)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def _deliver(path: Path, metrics: Metrics, client: PrefectClient, log: DecisionLog) -> None:
    """Deliver until nothing is pending, as the API's thread does: a busy Prefect server may
    answer 503 (its SQLite locked under load), and a failed delivery is retried after its
    backoff (the clock is moved past it)."""
    now = [time.time()]
    delivery = TriggerDelivery(path, metrics, client, clock=lambda: now[0])
    for _ in range(10):
        delivery.deliver_due()
        if all(t.state != "pending" for t in log.triggers()):
            return
        now[0] += 301
        time.sleep(1.0)
    raise AssertionError(f"still pending after 10 deliveries: {log.triggers()}")


def _create_run(client: PrefectClient, key: str) -> str:
    """A `retrain` flow run with idempotency key `key`, created as the API's thread would: a
    busy Prefect server answering 503 (its SQLite locked under load) is asked again."""
    for _ in range(9):
        try:
            return client.create_run(client.deployment_id(DEPLOYMENT), key, {"trigger": key}, [])
        except PrefectError as exc:
            if "HTTP 503" not in str(exc):
                raise
            time.sleep(2.0)
    return client.create_run(client.deployment_id(DEPLOYMENT), key, {"trigger": key}, [])


def _versions(registry: Registry) -> int:
    return len(registry.runs(TRAINING_EXPERIMENT, limit=100))


def test_drift_episodes_while_a_run_is_active_start_no_other_run(
    loop: Loop, tmp_path: Path
) -> None:
    metrics = Metrics(CollectorRegistry())
    log = DecisionLog(metrics, tmp_path / "decisions.db", prefect_configured=True)
    path = tmp_path / "decisions.db"
    # Episode 1 fires and is delivered: a flow run is created.
    assert log.record(DRIFT, "firing", "fp", T0) is not None
    _deliver(path, metrics, loop.client(), log)
    (started,) = log.triggers()
    assert started.state == "started" and started.flow_run_id
    # Episodes 2 and 3 (resolved and fired again, twice) before the next delivery; two API
    # workers deliver at once: the newest supersedes the older, and finds the run active.
    for hour in (1, 2):
        log.record(DRIFT, "resolved", "fp", T0 + timedelta(hours=hour - 1))
        assert log.record(DRIFT, "firing", "fp", T0 + timedelta(hours=hour)) is not None
    deliveries = [TriggerDelivery(path, metrics, loop.client()) for _ in range(2)]
    for delivery in deliveries:
        delivery.deliver_due()
    _deliver(path, metrics, loop.client(), log)
    first, superseded, skipped = log.triggers()
    assert first == started
    assert superseded.state == "skipped" and superseded.flow_run_id is None
    assert (superseded.detail or "").startswith(f"superseded by the newer trigger {skipped.key}")
    assert skipped.state == "skipped" and skipped.flow_run_id == started.flow_run_id
    # Whichever active state the run is in when the trigger finds it (a busy worker leaves it
    # PENDING a while between SCHEDULED and RUNNING).
    assert re.search(r"is already (scheduled|pending|running)$", skipped.detail or ""), skipped
    value = metrics.registry.get_sample_value
    assert value("model_retraining_triggers_total", {"outcome": "started"}) == 1.0
    assert value("model_retraining_triggers_total", {"outcome": "skipped"}) == 2.0
    # (and "retried" for any 503 of a busy server on the way)
    # The skipped decisions are answered by the active run: the start deadline counts from
    # the first.
    assert value("model_retraining_last_trigger_timestamp_seconds") == started.decided_at

    run = loop.wait_run(started.flow_run_id)
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["parameters"] == {"trigger": started.key}
    champion = loop.registry.champion()
    assert champion is not None and champion.version == "2"
    (newest,) = loop.registry.runs(TRAINING_EXPERIMENT, limit=1)
    assert newest["tags"]["decision"] == "promoted"
    assert newest["tags"]["retrain_trigger"] == started.key
    # Trained and judged up to the newest labelled day of the API's batches.
    assert newest["metrics"]["challenger_rmse"] < 0.5 * newest["metrics"]["champion_rmse"]
    outcomes = loop.runs_by_outcome()
    assert outcomes == {"promoted": 1.0, "rejected": 0.0, "failed": 0.0}
    samples = loop.worker_samples()
    assert samples[("retrain_flow_last_promotion_timestamp_seconds", ())] > T0.timestamp() - 1e9
    assert samples[("retrain_flow_holdout_rmse_score", (("model", "challenger"),))] == (
        pytest.approx(newest["metrics"]["challenger_rmse"])
    )

    # A re-delivery of a trigger whose answer was lost finds its own run (idempotency key).
    again = _create_run(loop.client(), started.key)
    assert again == started.flow_run_id


def test_prefect_down_the_trigger_is_kept_and_retried_until_a_run_starts(
    loop: Loop, tmp_path: Path
) -> None:
    metrics = Metrics(CollectorRegistry())
    log = DecisionLog(metrics, tmp_path / "decisions.db", prefect_configured=True)
    log.record(DRIFT, "firing", "down", T0)
    now = [time.time()]
    down = f"http://127.0.0.1:{free_port()}/api"  # nothing listens there
    offline = TriggerDelivery(
        tmp_path / "decisions.db", metrics, loop.client(down), clock=lambda: now[0]
    )
    assert offline.deliver_due() == pytest.approx(5.0)
    (trigger,) = log.triggers()
    assert trigger.state == "pending" and trigger.attempts == 1
    assert "ConnectionError" in (trigger.detail or "")
    value = metrics.registry.get_sample_value
    assert value("model_retraining_triggers_total", {"outcome": "retried"}) == 1.0
    assert value("model_retraining_triggers_pending") == 1.0
    # Not due yet: nothing is tried before the backoff ends.
    offline.deliver_due()
    assert log.triggers()[0].attempts == 1

    # More episodes while it is down: one trigger waits, the newest; the others are superseded.
    for hour in (1, 2, 3):
        log.record(DRIFT, "resolved", "down", T0 + timedelta(hours=hour - 1))
        log.record(DRIFT, "firing", "down", T0 + timedelta(hours=hour))
    now[0] += 6
    offline.deliver_due()
    *older, waiting = log.triggers()
    assert [t.state for t in older] == ["skipped"] * 3
    assert waiting.state == "pending" and waiting.attempts == 1
    assert value("model_retraining_triggers_pending") == 1.0

    # The server is back (another process: a restart of the API) and the backoff has passed.
    _deliver(tmp_path / "decisions.db", metrics, loop.client(), log)
    trigger = log.triggers()[-1]
    assert trigger.state == "started" and trigger.attempts >= 2
    assert value("model_retraining_triggers_pending") == 0.0
    before = loop.runs_by_outcome()
    run = loop.wait_run(trigger.flow_run_id or "")
    assert run["state_type"] == "COMPLETED", run["state"]
    # Same data as the champion's: the challenger does not win by the margin.
    (newest,) = loop.registry.runs(TRAINING_EXPERIMENT, limit=1)
    assert newest["tags"]["decision"] == "rejected"
    assert "does not beat champion v2" in newest["tags"]["reason"]
    champion = loop.registry.champion()
    assert champion is not None and champion.version == "2"
    assert loop.runs_by_outcome()["rejected"] == before["rejected"] + 1


def test_a_run_that_fails_mid_way_promotes_nothing_and_is_counted(loop: Loop) -> None:
    champion = loop.registry.champion()
    assert champion is not None
    versions = _versions(loop.registry)
    failed = loop.runs_by_outcome()["failed"]
    # The champion's files are gone from the store: the run trains its challenger, then cannot
    # fetch the champion to compare with (after its retries) and fails.
    shutil.rmtree(loop.artifacts)
    run_id = _create_run(loop.client(), "fault")
    run = loop.wait_run(run_id)
    assert run["state_type"] == "FAILED"
    after = loop.registry.champion()
    assert after is not None and after.version == champion.version
    assert _versions(loop.registry) == versions
    assert loop.runs_by_outcome()["failed"] == failed + 1
