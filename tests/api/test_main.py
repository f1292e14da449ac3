"""api/main.py: the app starts without a model and says how to get one."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from api.config import Settings
from api.main import create_app
from api.metrics import MODEL_INFO, MODEL_LOADED
from api.model import TREES_FILE
from api.schemas import EXAMPLE_HOUR as GOOD


def _sample(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name)


def test_missing_artifact_starts_degraded(settings: Settings, tmp_path: Path) -> None:
    registry = CollectorRegistry()
    app = create_app(settings.model_copy(update={"model_dir": tmp_path / "empty"}), registry)
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert "make train" in ready.json()["detail"]
        predict = client.post("/predict", json=GOOD)
        assert predict.status_code == 503
        assert "run `make train`" in predict.json()["detail"]
        assert client.get("/").json()["model"] is None
        assert client.get("/metrics").status_code == 200
    assert _sample(registry, MODEL_LOADED.name) == 0.0
    assert f"{MODEL_INFO.name}{{" not in generate_latest(registry).decode()
    assert (
        registry.get_sample_value(
            "api_errors_total", {"endpoint": "/predict", "error_type": "model_not_loaded"}
        )
        == 1.0
    )


def test_unreadable_artifact_starts_degraded(
    settings: Settings, model_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in model_dir.iterdir():
        (broken / item.name).write_bytes(item.read_bytes())
    (broken / TREES_FILE).write_text("garbage")
    registry = CollectorRegistry()
    with TestClient(create_app(settings.model_copy(update={"model_dir": broken}), registry)) as c:
        assert c.get("/ready").status_code == 503
        assert "does not match" in c.get("/ready").json()["detail"]
        assert c.post("/predict", json=GOOD).status_code == 503
    assert _sample(registry, MODEL_LOADED.name) == 0.0


def test_loaded_model_sets_gauges(client: TestClient, registry: CollectorRegistry) -> None:
    bundle = client.app.state.bundle  # type: ignore[attr-defined]
    assert _sample(registry, MODEL_LOADED.name) == 1.0
    labels = {
        "version": bundle.version,
        "trained_from": "2011-01-01 00:00:00",
        "trained_to": "2011-01-28 23:00:00",
    }
    assert registry.get_sample_value(MODEL_INFO.name, labels) == 1.0


def test_module_app_does_no_heavy_work_at_import() -> None:
    import api.main

    assert api.main.app.state.bundle is None, "the model loads in the lifespan, not at import"
