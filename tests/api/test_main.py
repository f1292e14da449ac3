"""api/main.py: the app starts without a model and says how to get one."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from api.config import Settings
from api.main import create_app
from api.metrics import MODEL_INFO, MODEL_LOADED
from api.model import REFERENCE_FILE, TREES_FILE
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
        # MODEL_SOURCE=folder: no registry version, no run.
        "registry_version": "",
        "run_id": "",
        "source": "folder",
    }
    assert registry.get_sample_value(MODEL_INFO.name, labels) == 1.0


def test_module_app_does_no_heavy_work_at_import() -> None:
    import api.main

    assert api.main.app.state.bundle is None, "the model loads in the lifespan, not at import"


def test_a_truncated_reference_makes_the_api_not_ready_and_says_which_file(
    settings: Settings, model_dir: Path, tmp_path: Path
) -> None:
    # The attack of the issue: reference.csv cut to 3,000 bytes scored a false drift of 0.45.
    copy = tmp_path / "model"
    copy.mkdir()
    for item in model_dir.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    reference = copy / REFERENCE_FILE
    reference.write_bytes(reference.read_bytes()[:3000])
    registry = CollectorRegistry()
    with TestClient(create_app(settings.model_copy(update={"model_dir": copy}), registry)) as c:
        ready = c.get("/ready")
        assert ready.status_code == 503
        assert REFERENCE_FILE in ready.json()["detail"]
        assert str(tmp_path) not in ready.text  # the server's paths stay in its log
        assert c.post("/evaluate", json={"data": []}).status_code == 503
    assert _sample(registry, MODEL_LOADED.name) == 0.0
