"""The API serves the registry's champion (a real MLflow SQLite store): it follows the alias,
swaps on `POST /model/reload` (authenticated), never swaps to a broken version, and serves its
cached champion when the registry is unreachable at start."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from api.config import Settings
from api.main import create_app
from api.metrics import API_ERRORS, MODEL_INFO, MODEL_REGISTRY_VERSION, MODEL_RELOADS
from api.model import CARD_FILE, REFERENCE_FILE, TREES_FILE, load_bundle
from api.registry import Champion, Registry
from api.schemas import EXAMPLE_HOUR
from api.train import register
from tests.api.mlflow_store import migrated_store, small_model_dir, store, store_uri
from tests.api.routers.test_metrics import _free_port

__all__ = ["migrated_store", "small_model_dir", "store", "store_uri"]

KEY = "reload-test-key"


def _card(folder: Path) -> dict[str, Any]:
    card: dict[str, Any] = json.loads((folder / CARD_FILE).read_text())
    return card


def _promote(store: Registry, folder: Path) -> Champion:
    return register(store, folder, _card(folder), promote=True, trigger="manual")


def _settings(base: Settings, tmp_path: Path, uri: str, **changes: Any) -> Settings:
    return base.model_copy(
        update={
            "model_source": "registry",
            "mlflow_tracking_uri": uri,
            "mlflow_artifacts_dir": tmp_path / "mlruns" / "artifacts",
            "evaluate_api_key": SecretStr(KEY),
            "model_poll_seconds": 60.0,
            **changes,
        }
    )


@contextmanager
def _app(settings: Settings) -> Iterator[tuple[TestClient, CollectorRegistry]]:
    registry = CollectorRegistry()
    with TestClient(create_app(settings, registry=registry)) as client:
        yield client, registry


def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _ready(client: TestClient, version: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        response = client.get("/ready")
        body: dict[str, Any] = response.json()
        return body if body.get("registry_version") == version else None

    result: dict[str, Any] = _until(check)
    return result


def _predict(client: TestClient) -> float:
    response = client.post("/predict", json=EXAMPLE_HOUR)
    assert response.status_code == 200, response.text
    value: float = response.json()["predicted_count"]
    return value


def _reload(client: TestClient) -> dict[str, Any]:
    response = client.post("/model/reload", headers={"X-API-Key": KEY})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_serves_the_champion_and_swaps_on_reload(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    small_model_dir: Path,
    tmp_path: Path,
) -> None:
    first = _promote(store, model_dir)
    with _app(_settings(settings, tmp_path, store_uri)) as (client, metrics):
        ready = _ready(client, "1")
        assert ready["model_source"] == "registry"
        before = _predict(client)
        assert before == load_bundle(model_dir).predict_one(_features())

        second = _promote(store, small_model_dir)
        assert _reload(client) == {
            "outcome": "swapped",
            "version": "2",
            "previous": "1",
            "detail": None,
        }
        assert _predict(client) == load_bundle(small_model_dir).predict_one(_features())
        assert _reload(client)["outcome"] == "unchanged"

        status = client.get("/model").json()
        assert status["registry_version"] == "2" and status["run_id"] == second.run_id
        assert status["source"] == "registry" and status["reload_error"] is None
        # The reference the evaluations compare with moved with the model.
        bundle = client.app.state.bundle  # type: ignore[attr-defined]
        assert bundle.reference_path == settings.state_dir / "models" / "2" / REFERENCE_FILE
        assert metrics.get_sample_value(MODEL_REGISTRY_VERSION.name) == 2.0
        assert metrics.get_sample_value(f"{MODEL_RELOADS.name}", {"outcome": "success"}) == 2.0
        old = _info(_card(model_dir)["version"], first, "registry")
        new = _info(bundle.version, second, "registry")
        assert metrics.get_sample_value(MODEL_INFO.name, old) is None
        assert metrics.get_sample_value(MODEL_INFO.name, new) == 1.0


def test_follows_the_alias_without_a_reload(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    small_model_dir: Path,
    tmp_path: Path,
) -> None:
    _promote(store, model_dir)
    with _app(_settings(settings, tmp_path, store_uri, model_poll_seconds=0.5)) as (client, _):
        _ready(client, "1")
        _promote(store, small_model_dir)
        _ready(client, "2")
        assert _predict(client) == load_bundle(small_model_dir).predict_one(_features())


def test_reload_is_authenticated(
    settings: Settings, store: Registry, store_uri: str, model_dir: Path, tmp_path: Path
) -> None:
    _promote(store, model_dir)
    with _app(_settings(settings, tmp_path, store_uri)) as (client, metrics):
        assert client.post("/model/reload").status_code == 401
        assert client.post("/model/reload", headers={"X-API-Key": "guess"}).status_code == 401
        errors = {"endpoint": "/model/reload", "error_type": "unauthorized"}
        assert metrics.get_sample_value(API_ERRORS.name, errors) == 2.0
    # No key configured: reloads are off, whatever is sent.
    with _app(_settings(settings, tmp_path, store_uri, evaluate_api_key=None)) as (client, _):
        response = client.post("/model/reload", headers={"X-API-Key": ""})
        assert response.status_code == 403
        assert "EVALUATE_API_KEY" in response.json()["detail"]


def test_a_broken_version_never_replaces_the_served_one(
    settings: Settings,
    store: Registry,
    store_uri: str,
    model_dir: Path,
    small_model_dir: Path,
    tmp_path: Path,
) -> None:
    _promote(store, model_dir)
    broken = tmp_path / "broken"
    shutil.copytree(small_model_dir, broken)
    # Truncated in transit or on disk: the card's sha256 no longer matches.
    text = (broken / REFERENCE_FILE).read_text()
    (broken / REFERENCE_FILE).write_text(text[:3000])
    with _app(_settings(settings, tmp_path, store_uri)) as (client, metrics):
        _ready(client, "1")
        served = _predict(client)
        _promote(store, broken)
        outcome = _reload(client)
        assert outcome["outcome"] == "failed" and outcome["version"] == "2"
        assert REFERENCE_FILE in outcome["detail"]
        assert _predict(client) == served
        assert client.get("/ready").json()["registry_version"] == "1"
        assert REFERENCE_FILE in client.get("/model").json()["reload_error"]
        assert metrics.get_sample_value(MODEL_RELOADS.name, {"outcome": "failed"}) == 1.0
        assert not (settings.state_dir / "models" / "2").exists()


def test_an_unreachable_registry_at_start_serves_the_verified_cache(
    settings: Settings, store: Registry, store_uri: str, model_dir: Path, tmp_path: Path
) -> None:
    champion = _promote(store, model_dir)
    with _app(_settings(settings, tmp_path, store_uri)) as (client, _):
        _ready(client, "1")
    down = f"http://127.0.0.1:{_free_port()}"
    with _app(_settings(settings, tmp_path, down)) as (client, metrics):
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["model_source"] == "cache"
        assert _predict(client) == load_bundle(model_dir).predict_one(_features())
        labels = _info(_card(model_dir)["version"], champion, "cache")
        assert metrics.get_sample_value(MODEL_INFO.name, labels) == 1.0
        _until(lambda: "registry_error" in client.get("/ready").json())

    # A cached copy that no longer matches its card is not served.
    trees = settings.state_dir / "models" / "1" / TREES_FILE
    trees.write_text(trees.read_text().replace("0", "1", 1))
    with _app(_settings(settings, tmp_path, down)) as (client, _):
        response = client.get("/ready")
        assert response.status_code == 503
        assert TREES_FILE in response.json()["detail"]

    # Nothing cached: not ready, and it says why.
    empty = _settings(settings, tmp_path, down, state_dir=tmp_path / "empty-state")
    with _app(empty) as (client, _):
        detail = _until(
            lambda: (
                "unreachable" in client.get("/ready").json()["detail"]
                and client.get("/ready").json()["detail"]
            )
        )
        assert client.get("/ready").status_code == 503
        assert "no model is cached" in detail


def _features() -> tuple[float, ...]:
    from api.schemas import BikeSharingInput

    return tuple(BikeSharingInput(**EXAMPLE_HOUR).features())


def _info(card_version: str, champion: Champion, source: str) -> dict[str, str]:
    return {
        "version": card_version,
        "trained_from": "2011-01-01 00:00:00",
        "trained_to": "2011-01-28 23:00:00",
        "registry_version": champion.version,
        "run_id": champion.run_id,
        "source": source,
    }


def test_an_unusable_cache_is_a_counted_failure_not_a_crash(
    settings: Settings, store: Registry, store_uri: str, model_dir: Path, tmp_path: Path
) -> None:
    _promote(store, model_dir)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / "models").write_text("a file where the cache folder should be")
    with _app(_settings(settings, tmp_path, store_uri)) as (client, metrics):
        outcome = _reload(client)
        assert outcome["outcome"] == "failed" and "cannot cache version 1" in outcome["detail"]
        ready = client.get("/ready")
        assert ready.status_code == 503
        # The cause, never a server path (those stay in the log).
        assert str(tmp_path) not in ready.text and str(tmp_path) not in outcome["detail"]
        assert (metrics.get_sample_value(MODEL_RELOADS.name, {"outcome": "failed"}) or 0) >= 1
