"""POST /evaluate: the exam's payload, gauges, the bad-input table, one evaluation at a time."""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import SecretStr

from api.clients.batches import SHIFTED_PERIOD, WEEKLY_PERIODS, evaluation_payload
from api.config import FEATURES, Settings
from api.data import load_hourly
from api.evaluation.lock import EvaluationLock
from api.main import create_app
from api.metrics import (
    DRIFT_FEATURES,
    MODEL_DRIFT_DETECTED,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_EVALUATION_REPORT_FAILURES,
    MODEL_EVALUATION_ROWS,
    MODEL_EVALUATIONS,
    MODEL_FEATURE_DRIFT_SCORE,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_MAE,
    MODEL_MAPE,
    MODEL_R2,
    MODEL_RMSE,
)
from api.routers.evaluate import MIN_EVALUATION_ROWS
from api.schemas import EXAMPLE_HOUR

# One app (and one evaluation child) for the module: under xdist its tests share a worker.
pytestmark = pytest.mark.xdist_group("evaluate-app")

MAX_ROWS = 1000


@pytest.fixture(scope="module")
def hourly(dataset_source: str) -> pd.DataFrame:
    return load_hourly(dataset_source)


@pytest.fixture(scope="module")
def week1(hourly: pd.DataFrame) -> dict[str, Any]:
    return evaluation_payload(hourly, "week1_february", *WEEKLY_PERIODS["week1_february"])


@pytest.fixture(scope="module")
def july(hourly: pd.DataFrame) -> dict[str, Any]:
    name, start, end = SHIFTED_PERIOD
    return evaluation_payload(hourly, name, start, end)


@pytest.fixture(scope="module")
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture(scope="module")
def app(
    model_dir: Path,
    dataset_source: str,
    tmp_path_factory: pytest.TempPathFactory,
    registry: CollectorRegistry,
) -> FastAPI:
    """One app for the module: its evaluation worker imports Evidently once (~7 s)."""
    folder = tmp_path_factory.mktemp("evaluate")
    settings = Settings(
        bike_sharing_source=dataset_source,
        model_dir=model_dir,
        data_dir=folder / "data",
        reports_dir=folder / "reports",
        reports_keep=2,
        max_evaluation_rows=MAX_ROWS,
    )
    return create_app(settings, registry=registry)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    assert value is not None, f"{name}{labels} not exposed"
    return value


def _outcomes(registry: CollectorRegistry) -> dict[str, float]:
    return {
        o: registry.get_sample_value(MODEL_EVALUATIONS.name, {"outcome": o}) or 0.0
        for o in MODEL_EVALUATIONS.label_values["outcome"]
    }


def test_the_exams_week1_payload_is_evaluated_and_published(
    client: TestClient, registry: CollectorRegistry, week1: dict[str, Any], app: FastAPI
) -> None:
    # The exam's records plus columns of hour.csv it may carry: accepted and ignored.
    records = [
        {**r, "instant": i, "yr": 0, "casual": 1, "registered": 2}
        for i, r in enumerate(week1["data"])
    ]
    response = client.post("/evaluate", json={**week1, "data": records})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["evaluated_items"] == len(records) == 235
    for key in ("rmse", "mape", "mae", "r2score", "drift_share"):
        assert math.isfinite(body[key]), key
    assert body["drift_detected"] is False
    assert "week1_february" in body["message"] and "not detected" in body["message"]
    assert set(body["drifted_features"]) <= set(FEATURES)
    assert set(body["feature_drift_scores"]) == set(FEATURES)
    assert Path(body["report_html"]).is_file() and Path(body["report_json"]).is_file()

    assert _value(registry, MODEL_RMSE.name) == pytest.approx(body["rmse"])
    assert _value(registry, MODEL_MAE.name) == pytest.approx(body["mae"])
    assert _value(registry, MODEL_R2.name) == pytest.approx(body["r2score"])
    assert _value(registry, MODEL_MAPE.name) == pytest.approx(body["mape"])
    assert _value(registry, MODEL_DRIFTED_FEATURES_RATIO.name) == pytest.approx(body["drift_share"])
    assert _value(registry, MODEL_DRIFT_DETECTED.name) == 0
    assert _value(registry, MODEL_EVALUATION_ROWS.name) == 235
    assert _value(registry, MODEL_LAST_EVALUATION_TIMESTAMP.name) > 0
    for feature in DRIFT_FEATURES:
        assert _value(registry, MODEL_FEATURE_DRIFT_SCORE.name, feature=feature) == pytest.approx(
            body["feature_drift_scores"][feature]
        )
    # The period name is free text: it must not become a label.
    assert b"week1_february" not in generate_latest(registry)


def test_the_july_batch_drifts_and_fits_worse(
    client: TestClient, registry: CollectorRegistry, week1: dict[str, Any], july: dict[str, Any]
) -> None:
    first = client.post("/evaluate", json=week1).json()
    response = client.post("/evaluate", json=july)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["drift_detected"] is True
    assert body["drift_share"] > first["drift_share"]
    assert body["rmse"] > first["rmse"]
    assert _value(registry, MODEL_DRIFT_DETECTED.name) == 1
    assert _value(registry, MODEL_RMSE.name) == pytest.approx(body["rmse"])
    # reports_keep=2: older pairs were pruned.
    reports = {
        Path(body["report_html"]).parent / n for n in os.listdir(Path(body["report_html"]).parent)
    }
    assert len(reports) == 4


def _record(**changes: Any) -> dict[str, Any]:
    good = {**EXAMPLE_HOUR, "cnt": 120}
    return {k: v for k, v in {**good, **changes}.items() if v is not ...}


def _body(*records: Any) -> str:
    return json.dumps({"data": list(records), "evaluation_period_name": "bad"})


# (case id, raw body, field the answer must name)
BAD_INPUTS: list[tuple[str, str, str]] = [
    ("empty data", json.dumps({"data": [], "evaluation_period_name": "x"}), "data"),
    ("no data key", json.dumps({"evaluation_period_name": "x"}), "data"),
    ("data not a list", json.dumps({"data": {"cnt": 1}}), "data"),
    ("body not an object", json.dumps([_record()]), "body"),
    ("body not JSON", '{"data": [', "body"),
    ("record not an object", _body(_record(), 42), "data[1]"),
    ("missing cnt", _body(_record(), _record(cnt=...)), "data[1].cnt"),
    ("missing a feature", _body(_record(hum=...)), "data[0].hum"),
    ("temp above 1", _body(_record(), _record(), _record(temp=1.5)), "data[2].temp"),
    ("hour 24", _body(_record(hr=24)), "data[0].hr"),
    ("season 0", _body(_record(season=0)), "data[0].season"),
    ("negative cnt", _body(_record(cnt=-1)), "data[0].cnt"),
    ("fractional cnt", _body(_record(cnt=1.5)), "data[0].cnt"),
    ("cnt as a string", _body(_record(cnt="12")), "data[0].cnt"),
    ("windspeed not numeric", _body(_record(windspeed="abc")), "data[0].windspeed"),
    ("NaN atemp", _body(_record()).replace('"atemp": 0.2273', '"atemp": NaN'), "data[0].atemp"),
    ("Infinity temp", _body(_record()).replace('"temp": 0.22', '"temp": Infinity'), "data[0].temp"),
    ("null weathersit", _body(_record(weathersit=None)), "data[0].weathersit"),
    ("bad date", _body(_record(dteday="2011-02-30")), "data[0].dteday"),
    (
        "period name not a string",
        json.dumps({"data": [_record()], "evaluation_period_name": 7}),
        "evaluation_period_name",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_a_422_naming_the_record_and_field(
    client: TestClient, registry: CollectorRegistry, body: str, field: str
) -> None:
    before = _outcomes(registry)
    response = client.post("/evaluate", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert field in [p["field"] for p in problems], problems
    assert field in response.json()["message"]
    after = _outcomes(registry)
    assert after["success"] == before["success"]
    if field != "body" or "not an object" in body:
        assert after["rejected"] >= before["rejected"]


def test_a_batch_shorter_than_a_day_is_a_422(client: TestClient) -> None:
    response = client.post("/evaluate", json={"data": [_record()] * (MIN_EVALUATION_ROWS - 1)})
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == ["data"]
    assert f"at least {MIN_EVALUATION_ROWS}" in response.json()["message"]


def _day(cnt: Callable[[int], int]) -> list[dict[str, Any]]:
    """A day of the same February hours with the given true counts, hour by hour."""
    return [_record(hr=h, cnt=cnt(h)) for h in range(MIN_EVALUATION_ROWS)]


def test_a_batch_without_a_single_rental_is_a_422(client: TestClient) -> None:
    response = client.post("/evaluate", json={"data": _day(lambda h: 0)})
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["detail"]] == ["data"]
    assert "cnt is 0 in every record" in response.json()["message"]


def test_r2_of_a_constant_cnt_is_none_not_zero(
    client: TestClient, registry: CollectorRegistry
) -> None:
    # R2 is 0/0 here; 0.0 would read as "explains nothing" and page BikeModelR2Low.
    body = client.post("/evaluate", json={"data": _day(lambda h: 40)})
    assert body.status_code == 200, body.text
    assert body.json()["r2score"] is None
    assert all(body.json()[k] is not None for k in ("rmse", "mae", "mape"))
    assert math.isnan(_value(registry, MODEL_R2.name))
    # Varied counts, some of them 0: every score is defined.
    body = client.post("/evaluate", json={"data": _day(lambda h: h * 10)})
    assert all(body.json()[k] is not None for k in ("rmse", "mae", "r2score", "mape"))
    assert _value(registry, MODEL_R2.name) == pytest.approx(body.json()["r2score"])


def test_many_bad_records_list_the_first_errors_and_count_the_rest(client: TestClient) -> None:
    response = client.post("/evaluate", json={"data": [_record(cnt=...)] * 30})
    assert response.status_code == 422
    fields = [p["field"] for p in response.json()["detail"]]
    assert fields[:2] == ["data[0].cnt", "data[1].cnt"]
    assert len(fields) == 21
    assert "10 more errors not listed" in response.json()["message"]


def test_more_rows_than_the_cap_is_a_422_naming_the_rule(
    client: TestClient, registry: CollectorRegistry
) -> None:
    before = _outcomes(registry)["rejected"]
    response = client.post("/evaluate", json={"data": [_record()] * (MAX_ROWS + 1)})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["field"] == "data" and problem["rule"] == "too_long"
    assert "MAX_EVALUATION_ROWS" in problem["msg"]
    # The document says the configured cap, so generated clients know it.
    schema = client.get("/openapi.json").json()["components"]["schemas"]["EvaluationRequest"]
    assert schema["properties"]["data"]["maxItems"] == MAX_ROWS
    assert _outcomes(registry)["rejected"] == before + 1


def test_a_second_evaluation_gets_429_while_predict_keeps_answering(
    client: TestClient, app: FastAPI, registry: CollectorRegistry, week1: dict[str, Any]
) -> None:
    worker = app.state.evaluation_worker
    pid = worker.pid
    assert pid is not None
    busy_before = _outcomes(registry)["busy"]
    # A stopped child makes "the first evaluation is still running" certain, not a race.
    os.kill(pid, signal.SIGSTOP)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        first = pool.submit(client.post, "/evaluate", json=week1)
        while not worker.busy and not first.done():
            time.sleep(0.01)
        second = client.post("/evaluate", json=week1)
        prediction = client.post(
            "/predict", json={k: v for k, v in _record().items() if k != "cnt"}
        )
        still_running = worker.busy
    finally:
        os.kill(pid, signal.SIGCONT)
        pool.shutdown(wait=True)
    assert second.status_code == 429
    assert "already running" in second.json()["detail"]
    assert prediction.status_code == 200
    assert still_running
    assert first.result().status_code == 200
    assert _outcomes(registry)["busy"] == busy_before + 1


def test_without_a_model_evaluate_is_a_503(
    dataset_source: str, tmp_path: Path, week1: dict[str, Any]
) -> None:
    settings = Settings(
        bike_sharing_source=dataset_source, model_dir=tmp_path / "none", reports_dir=tmp_path
    )
    with TestClient(create_app(settings, registry=CollectorRegistry())) as bare:
        response = bare.post("/evaluate", json=week1)
        assert bare.app.state.evaluation_worker.pid is None  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert "make train" in response.json()["detail"]


def test_a_worker_started_at_first_use_is_not_started_before(
    settings: Settings, week1: dict[str, Any]
) -> None:
    """EVALUATION_WORKER_START=first_use: no child (no Evidently import) until an evaluation
    gets to run; a refused batch does not start one either."""
    assert settings.evaluation_worker_start == "first_use"
    app = create_app(settings, registry=CollectorRegistry())
    with TestClient(app) as lazy:
        assert app.state.evaluation_worker.pid is None
        assert lazy.post("/evaluate", json={**week1, "data": week1["data"][:3]}).status_code == 422
        assert app.state.evaluation_worker.pid is None


def test_the_worker_process_ends_with_the_app(settings: Settings) -> None:
    # Started at start-up (the default), stopped with the app (mid-import: it costs nothing).
    eager = settings.model_copy(update={"evaluation_worker_start": "startup"})
    app = create_app(eager, registry=CollectorRegistry())
    with TestClient(app):
        pid = app.state.evaluation_worker.pid
        assert pid is not None
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_unwritable_reports_folder_still_publishes_the_scores_and_says_so(
    client: TestClient,
    app: FastAPI,
    registry: CollectorRegistry,
    week1: dict[str, Any],
    tmp_path: Path,
) -> None:
    settings: Settings = app.state.settings
    original = settings.reports_dir
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    before = _outcomes(registry)
    failures = MODEL_EVALUATION_REPORT_FAILURES.name
    failures_before = registry.get_sample_value(failures) or 0.0
    settings.reports_dir = blocker
    try:
        response = client.post("/evaluate", json=week1)
    finally:
        settings.reports_dir = original
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rmse"] is not None and body["report_html"] is None
    assert "report could not be written" in body["warning"]
    assert str(tmp_path) not in response.text  # no server path reaches the client
    assert _outcomes(registry)["success"] == before["success"] + 1
    assert _outcomes(registry)["failed"] == before["failed"]
    assert registry.get_sample_value(failures) == failures_before + 1
    assert not list(tmp_path.glob("*.tmp*"))
    assert client.post("/evaluate", json=week1).status_code == 200


def test_ratios_closer_than_a_histogram_bin_are_still_evaluated(client: TestClient) -> None:
    # Found by the contract run: 0 and 5e-324 are both valid temperatures, but Evidently's
    # histogram of them has no finite-sized bins and the evaluation failed with a 503.
    records = [_record(temp=0.0, cnt=0)] * 23 + [_record(temp=5e-324, atemp=2.2e-16, cnt=414)]
    response = client.post("/evaluate", json={"data": records})
    assert response.status_code == 200, response.text
    assert response.json()["evaluated_items"] == 24


def test_busy_is_answered_before_the_body_is_read(
    client: TestClient, app: FastAPI, registry: CollectorRegistry
) -> None:
    # Another worker holds the host's evaluation lock: this one answers 429 at once, without
    # parsing (the body here is not even JSON) or validating anything.
    busy_before = _outcomes(registry)["busy"]
    other_worker = EvaluationLock(app.state.evaluation_lock.path)
    with other_worker.hold() as held:
        assert held
        response = client.post(
            "/evaluate", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert _outcomes(registry)["busy"] == busy_before + 1


def test_with_a_key_configured_evaluate_needs_it_before_reading_the_body(
    settings: Settings,
) -> None:
    registry = CollectorRegistry()
    keyed = settings.model_copy(update={"evaluate_api_key": SecretStr("the-key")})
    unauthorized = {"endpoint": "/evaluate", "error_type": "unauthorized"}
    with TestClient(create_app(keyed, registry=registry)) as keyed_client:
        for headers in ({}, {"X-API-Key": "wrong"}):
            response = keyed_client.post(
                "/evaluate",
                content=b"{not json",
                headers={**headers, "Content-Type": "application/json"},
            )
            assert response.status_code == 401, response.text
            assert "X-API-Key" in response.json()["detail"]
        assert registry.get_sample_value("api_errors_total", unauthorized) == 2
        # The right key passes the check: the body is then read (and refused as not JSON).
        response = keyed_client.post(
            "/evaluate",
            content=b"{not json",
            headers={"X-API-Key": "the-key", "Content-Type": "application/json"},
        )
        assert response.status_code == 422
    assert _outcomes(registry) == dict.fromkeys(_outcomes(registry), 0.0) | {"rejected": 1.0}


@pytest.mark.parametrize("content", [None, ""], ids=["missing", "empty"])
def test_a_key_file_that_yields_no_key_closes_evaluate(
    settings: Settings, tmp_path: Path, content: str | None
) -> None:
    # Fail closed: a configured key file that cannot give a key never means "no key, open".
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_text(content)
    keyed = settings.model_copy(update={"evaluate_api_key_file": key_file})
    with TestClient(create_app(keyed, registry=CollectorRegistry())) as keyed_client:
        for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "anything"}):
            response = keyed_client.post("/evaluate", json={"data": []}, headers=headers)
            assert response.status_code == 403, response.text
            assert "EVALUATE_API_KEY_FILE" in response.json()["detail"]
