"""GET /health, /ready and /: liveness, readiness and service information."""

from __future__ import annotations

import re

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
        "registry_version": None,
        "model_source": "folder",
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
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/predict"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {
        "dteday", "temp", "atemp", "hum", "windspeed", "mnth", "hr", "weekday", "season",
        "holiday", "workingday", "weathersit",
    }  # fmt: skip
    assert schema["properties"]["hr"]["maximum"] == 23
    assert "PredictionOutput" in str(operation["responses"]["200"])


def test_docs_are_served_offline_from_the_installed_bundle(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', page.text)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert "http://" not in page.text and "https://" not in page.text  # nothing off the host
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and response.content, asset
    assert len(client.get("/docs/assets/swagger-ui-bundle.js").content) > 100_000
    assert client.get("/openapi.json").json()["info"]["title"] == "bike-api"
