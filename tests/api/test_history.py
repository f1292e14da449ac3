"""The evaluation and decision history in MLflow (a real SQLite store): every /evaluate becomes
a run with its scores and reports, written off the request path; a failed write is retried and
counted; decisions are runs too; a restart restores the gauges from the latest evaluation of
the champion; GET /evaluations lists them newest first, bounded."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.clients.batches import WEEKLY_PERIODS, evaluation_payload
from api.config import FEATURES, Settings
from api.data import load_hourly
from api.evaluation.result import EvaluationResult
from api.history import BATCH_ARTIFACT, HISTORY_FILE, History
from api.metrics import (
    MODEL_FEATURE_DRIFT_SCORE,
    MODEL_HISTORY_WRITES,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_RMSE,
    Metrics,
)
from api.registry import DECISIONS_EXPERIMENT, EVALUATIONS_EXPERIMENT, Registry
from tests.api.mlflow_store import migrated_store, small_model_dir, store, store_uri
from tests.api.routers.test_alerts import DRIFT, alert, payload
from tests.api.routers.test_metrics import _free_port
from tests.api.test_champion import KEY, _app, _promote, _ready, _settings, _until

__all__ = ["migrated_store", "small_model_dir", "store", "store_uri"]

TOKEN = "history-test-token"


def _flushed(client: TestClient) -> None:
    history: History = client.app.state.history  # type: ignore[attr-defined]
    _until(lambda: history.pending() == 0)


def test_an_evaluation_is_a_run_and_its_gauges_come_back_after_a_restart(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    tmp_path: Path,
    dataset_source: str,
) -> None:
    _promote(store, model_dir)
    start, end = WEEKLY_PERIODS["week1_february"]
    body = evaluation_payload(load_hourly(dataset_source), "week1_february", start, end)
    app_settings = _settings(settings, tmp_path, store_uri)
    with _app(app_settings) as (client, _):
        _ready(client, "1")
        response = client.post("/evaluate", json=body, headers={"X-API-Key": KEY})
        assert response.status_code == 200, response.text
        scored = response.json()
        _flushed(client)
        listed = client.get("/evaluations").json()["evaluations"]
    assert len(listed) == 1
    run = listed[0]
    assert run["period"] == "week1_february" and run["model_registry_version"] == "1"
    assert run["rmse"] == pytest.approx(scored["rmse"])
    assert run["drift_share"] == pytest.approx(scored["drift_share"])
    assert run["rows"] == scored["evaluated_items"]
    # The Evidently report is an artifact of the run.
    client_ = store._get_client()
    names = {a.path for a in client_.list_artifacts(run["run_id"], "report")}
    assert {Path(scored["report_html"]).name, Path(scored["report_json"]).name} == {
        Path(n).name for n in names
    }
    # So is the labelled batch, as sent (the retrain flow trains on it), with the days it covers.
    (stored,) = store.runs(EVALUATIONS_EXPERIMENT, limit=1)
    days = sorted(row["dteday"] for row in body["data"])
    tags = stored["tags"]
    assert (tags["labelled_from"], tags["labelled_until"]) == (days[0], days[-1])
    batch = pd.read_csv(io.StringIO(store.read_text(run["run_id"], BATCH_ARTIFACT)))
    assert len(batch) == len(body["data"])
    sent = pd.DataFrame(body["data"]).sort_values(["dteday", "hr"]).reset_index(drop=True)
    kept = batch.sort_values(["dteday", "hr"]).reset_index(drop=True)
    for column in (*FEATURES, "cnt", "dteday"):
        assert list(kept[column]) == list(sent[column]), column

    # A restart (a new process: new gauges) reads the scores back, with their time.
    with _app(app_settings) as (client, metrics):
        rmse = _until(lambda: metrics.get_sample_value(MODEL_RMSE.name))
        assert rmse == pytest.approx(scored["rmse"])
        stamp = metrics.get_sample_value(MODEL_LAST_EVALUATION_TIMESTAMP.name)
        assert stamp is not None and abs(stamp - time.time()) < 300
        for feature, score in scored["feature_drift_scores"].items():
            got = metrics.get_sample_value(MODEL_FEATURE_DRIFT_SCORE.name, {"feature": feature})
            assert got == pytest.approx(score), feature


def test_the_other_champions_evaluations_are_not_restored(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    small_model_dir: Path,
    tmp_path: Path,
) -> None:
    first = _promote(store, model_dir)
    history = History(tmp_path / "outbox.db", store, Metrics(CollectorRegistry()))
    history.record_evaluation("old", _result(30.0), ("v", first.version, first.run_id), 0.3, 1.0)
    history.flush()
    _promote(store, small_model_dir)
    with _app(_settings(settings, tmp_path, store_uri)) as (client, metrics):
        _ready(client, "2")
        time.sleep(1.5)
        assert metrics.get_sample_value(MODEL_RMSE.name) is None


def test_a_failed_write_stays_queued_is_counted_and_written_later(
    store: Registry, tmp_path: Path
) -> None:
    path = tmp_path / HISTORY_FILE
    down = Registry(f"http://127.0.0.1:{_free_port()}", None)
    metrics = Metrics(CollectorRegistry())
    history = History(path, down, metrics)
    history.record_evaluation("week9", _result(21.5), ("abc", "1", "run"), 0.3, 1_700_000_000.0)
    wait = history.flush()
    failed = {"kind": "evaluation", "outcome": "failed"}
    assert metrics.registry.get_sample_value(MODEL_HISTORY_WRITES.name, failed) == 1.0
    assert history.pending() == 1 and wait > 0
    # Not due yet: the backoff holds it.
    history.flush()
    assert metrics.registry.get_sample_value(MODEL_HISTORY_WRITES.name, failed) == 1.0

    # MLflow is back (a restart with the same state): the queued entry is written.
    again = History(path, store, metrics)
    again.flush()
    assert again.pending() == 0
    written = {"kind": "evaluation", "outcome": "success"}
    assert metrics.registry.get_sample_value(MODEL_HISTORY_WRITES.name, written) == 1.0
    (run,) = store.runs(EVALUATIONS_EXPERIMENT, limit=5)
    assert run["metrics"]["rmse"] == 21.5 and run["tags"]["period"] == "week9"
    assert run["start_time"] == 1_700_000_000.0


def test_decisions_are_runs_in_their_own_experiment(
    settings: Settings, store: Registry, store_uri: str, model_dir: Path, tmp_path: Path
) -> None:
    _promote(store, model_dir)
    app_settings = _settings(settings, tmp_path, store_uri, alert_webhook_token=SecretStr(TOKEN))
    with _app(app_settings) as (client, _):
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = client.post("/alerts", json=payload(alert(DRIFT)), headers=headers)
        assert response.json()["retraining_triggered"] is True
        _flushed(client)
    (run,) = store.runs(DECISIONS_EXPERIMENT, limit=5)
    assert run["tags"]["decision"] == "RETRAINING_TRIGGERED"
    assert run["tags"]["alertname"] == DRIFT and run["tags"]["reason"] == "data_drift"


def test_evaluations_are_listed_newest_first_and_bounded(
    settings: Settings, store: Registry, store_uri: str, model_dir: Path, tmp_path: Path
) -> None:
    _promote(store, model_dir)
    history = History(tmp_path / "outbox.db", store, Metrics(CollectorRegistry()))
    for day in range(3):
        at = 1_700_000_000.0 + day * 86_400
        history.record_evaluation(f"day{day}", _result(20.0 + day), ("v", "1", "r"), 0.3, at)
    history.flush()
    with _app(_settings(settings, tmp_path, store_uri)) as (client, _):
        listed = client.get("/evaluations", params={"limit": 2}).json()["evaluations"]
        assert [e["period"] for e in listed] == ["day2", "day1"]
        for bad in (0, 101, "many"):
            response = client.get("/evaluations", params={"limit": bad})
            assert response.status_code == 422 and response.json()["detail"][0]["field"] == "limit"
    down = _settings(settings, tmp_path, f"http://127.0.0.1:{_free_port()}")
    with _app(down) as (client, _):
        response = client.get("/evaluations")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("the history cannot be read: ")


def _result(rmse: float) -> EvaluationResult:
    return EvaluationResult(
        rows=100,
        rmse=rmse,
        mae=rmse / 2,
        r2=0.5,
        mape=30.0,
        drift_share=0.1,
        drift_detected=False,
        drifted_features=("temp",),
        feature_drift_scores={f: 0.01 for f in FEATURES},
    )


def test_an_unwritable_outbox_never_fails_what_it_records(tmp_path: Path) -> None:
    metrics = Metrics(CollectorRegistry())
    path = tmp_path / HISTORY_FILE
    history = History(path, Registry(f"http://127.0.0.1:{_free_port()}", None), metrics)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()  # the database cannot be opened any more
    history.record_evaluation("week1", _result(20.0), ("v", "1", "r"), 0.3, 1.0)
    failed = {"kind": "evaluation", "outcome": "failed"}
    assert metrics.registry.get_sample_value(MODEL_HISTORY_WRITES.name, failed) == 1.0


def test_an_unreadable_entry_is_dropped_without_blocking_the_others(
    store: Registry, tmp_path: Path
) -> None:
    import sqlite3

    metrics = Metrics(CollectorRegistry())
    path = tmp_path / HISTORY_FILE
    history = History(path, store, metrics)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO outbox (kind, payload, attempts, next_try) "
            "VALUES ('evaluation', '{', 0, 0)"
        )
    history.record_evaluation("week2", _result(22.0), ("v", "1", "r"), 0.3, 2.0)
    history.flush()
    assert history.pending() == 0
    (run,) = store.runs(EVALUATIONS_EXPERIMENT, limit=5)
    assert run["tags"]["period"] == "week2"
    failed = {"kind": "evaluation", "outcome": "failed"}
    assert metrics.registry.get_sample_value(MODEL_HISTORY_WRITES.name, failed) == 1.0


def test_with_mlflow_down_an_evaluation_succeeds_and_its_run_waits_in_the_outbox(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    tmp_path: Path,
    dataset_source: str,
) -> None:
    _promote(store, model_dir)
    with _app(_settings(settings, tmp_path, store_uri)) as (client, _):
        _ready(client, "1")  # cached
    start, end = WEEKLY_PERIODS["week2_february"]
    body = evaluation_payload(load_hourly(dataset_source), "week2_february", start, end)
    down = _settings(settings, tmp_path, f"http://127.0.0.1:{_free_port()}")
    with _app(down) as (client, metrics):
        response = client.post("/evaluate", json=body, headers={"X-API-Key": KEY})
        assert response.status_code == 200, response.text
        failed = {"kind": "evaluation", "outcome": "failed"}
        _until(lambda: metrics.get_sample_value(MODEL_HISTORY_WRITES.name, failed))
        assert client.app.state.history.pending() == 1  # type: ignore[attr-defined]
    # MLflow is back: the next start writes it.
    with _app(_settings(settings, tmp_path, store_uri)) as (client, _):
        _flushed(client)
        periods = [e["period"] for e in client.get("/evaluations").json()["evaluations"]]
        assert periods == ["week2_february"]


def test_without_mlflow_there_is_no_history_and_no_reload(client: TestClient) -> None:
    """MODEL_SOURCE=folder (the conftest's apps): a conflict with the configuration, not an
    outage."""
    response = client.get("/evaluations")
    assert response.status_code == 409 and "MODEL_SOURCE=folder" in response.json()["detail"]


def test_a_replica_shows_the_evaluation_another_replica_made(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    tmp_path: Path,
    dataset_source: str,
) -> None:
    """Two replicas (own state, one registry): /evaluate on one, and the other's gauges follow
    the registry to the same scores and time, for each new evaluation; the first never goes
    back to an older one."""
    _promote(store, model_dir)
    hourly = load_hourly(dataset_source)
    replicas = [
        _settings(settings, tmp_path, store_uri, state_dir=tmp_path / name, model_poll_seconds=0.5)
        for name in ("replica-1", "replica-2")
    ]
    with _app(replicas[0]) as (first, first_metrics), _app(replicas[1]) as (_, second_metrics):
        _ready(first, "1")
        for week in ("week1_february", "week3_february"):
            start, end = WEEKLY_PERIODS[week]
            body = evaluation_payload(hourly, week, start, end)
            response = first.post("/evaluate", json=body, headers={"X-API-Key": KEY})
            assert response.status_code == 200, response.text
            rmse = response.json()["rmse"]
            shown = first_metrics.get_sample_value(MODEL_LAST_EVALUATION_TIMESTAMP.name)

            def followed(rmse: float = rmse, shown: float | None = shown) -> bool:
                got = second_metrics.get_sample_value(MODEL_RMSE.name)
                at = second_metrics.get_sample_value(MODEL_LAST_EVALUATION_TIMESTAMP.name)
                return got == pytest.approx(rmse) and at == pytest.approx(shown, abs=0.001)

            _until(followed)
            # The evaluating replica, following the same registry, keeps its own newest.
            time.sleep(1.2)
            assert first_metrics.get_sample_value(MODEL_RMSE.name) == pytest.approx(rmse)


def test_a_run_still_being_written_is_not_followed(
    store: Registry, model_dir: Path, tmp_path: Path
) -> None:
    """Another replica's evaluation run exists before its metrics are logged: a replica that
    followed it then would show NaN scores, and never look again at that time. Only finished
    runs are read."""
    first = _promote(store, model_dir)
    served = ("v", first.version, first.run_id)
    writer = History(tmp_path / "writer.db", store, Metrics(CollectorRegistry()))
    writer.record_evaluation("week1", _result(30.0), served, 0.3, 1_700_000_000.0)
    writer.flush()
    # A newer evaluation, half written: its run and tags, no metrics, not terminated.
    client = store._get_client()
    client.create_run(
        store.experiment_id(EVALUATIONS_EXPERIMENT),
        start_time=1_700_000_100_000,
        tags={"model_registry_version": first.version},
    )
    metrics = Metrics(CollectorRegistry())
    follower = History(tmp_path / "follower.db", store, metrics)
    assert follower.follow(first.version)
    assert metrics.registry.get_sample_value(MODEL_RMSE.name) == 30.0
    stamp = metrics.registry.get_sample_value(MODEL_LAST_EVALUATION_TIMESTAMP.name)
    assert stamp == 1_700_000_000.0
