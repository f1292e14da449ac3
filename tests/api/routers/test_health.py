"""GET /health, /ready and /: liveness, readiness and service information."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.config import REFERENCE_END, REFERENCE_START


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_names_the_model(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "model_version": client.app.state.bundle.version,  # type: ignore[attr-defined]
    }


def test_service_info(client: TestClient) -> None:
    info = client.get("/").json()
    assert info["service"] == "bike-api"
    assert info["model"]["trained_from"] == REFERENCE_START
    assert info["model"]["trained_to"] == REFERENCE_END
    assert set(info["model"]["training_metrics"]) == {"rmse", "mae", "r2", "mape"}
    assert {"/predict", "/health", "/ready", "/metrics", "/"} <= set(info["endpoints"])
    assert info["docs"] == "/docs"


def test_openapi_docs_describe_predict(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {
        "dteday", "temp", "atemp", "hum", "windspeed", "mnth", "hr", "weekday", "season",
        "holiday", "workingday", "weathersit",
    }  # fmt: skip
    assert schema["properties"]["hr"]["maximum"] == 23
    assert "PredictionOutput" in str(operation["responses"]["200"])
