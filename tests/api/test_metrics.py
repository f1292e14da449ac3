"""api/metrics.py on a fresh app: counters start at 0, measurement gauges are absent until set."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.config import Settings
from api.main import create_app
from api.metrics import (
    ALL_SPECS,
    API_ERRORS,
    API_REQUESTS,
    MODEL_EVALUATIONS,
    MODEL_RETRAINING_DECISIONS,
)
from api.retraining import possible_decisions


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _fresh_exposition(tmp_path: Path) -> dict[str, list[tuple[dict[str, str], float]]]:
    registry = CollectorRegistry()
    app = create_app(Settings(model_dir=tmp_path / "no-model"), registry)
    with TestClient(app) as client:
        return _samples(client.get("/metrics").text)


def test_no_measurement_gauge_is_exposed_before_it_is_measured(tmp_path: Path) -> None:
    """No evaluation yet: no RMSE 0.0 (a perfect model), no drift 0 (nothing drifted)."""
    exposed = _fresh_exposition(tmp_path)
    absent = [s for s in ALL_SPECS if s.absent_until_set]
    assert absent, "the evaluation scores are measurements"
    for spec in absent:
        assert spec.name not in exposed, spec.name


def test_every_known_label_set_of_the_counters_starts_at_zero(tmp_path: Path) -> None:
    exposed = _fresh_exposition(tmp_path)
    evaluations = {s[0]["outcome"]: s[1] for s in exposed[MODEL_EVALUATIONS.name]}
    assert evaluations == dict.fromkeys(MODEL_EVALUATIONS.label_values["outcome"], 0.0)
    decisions = {
        (s[0]["decision"], s[0]["reason"]): s[1] for s in exposed[MODEL_RETRAINING_DECISIONS.name]
    }
    assert decisions == dict.fromkeys(possible_decisions(), 0.0)
    assert ("RETRAINING_TRIGGERED", "data_drift") in decisions
    requests = {tuple(s[0].values()): s[1] for s in exposed[API_REQUESTS.name]}
    for status in ("200", "422", "500"):
        assert requests[("/predict", "POST", status)] == 0.0, status
    errors = {(s[0]["endpoint"], s[0]["error_type"]): s[1] for s in exposed[API_ERRORS.name]}
    for pair in (("/predict", "validation"), ("/evaluate", "busy"), ("<unmatched>", "not_found")):
        assert errors[pair] == 0.0, pair


def test_a_first_decision_is_an_increase_from_zero(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"alert_webhook_token": SecretStr("t")}), CollectorRegistry()
    )
    with TestClient(app) as client:
        _first_decision(client)


def _first_decision(client: TestClient) -> None:
    before = _samples(client.get("/metrics").text)[MODEL_RETRAINING_DECISIONS.name]
    assert ({"decision": "RETRAINING_TRIGGERED", "reason": "data_drift"}, 0.0) in before
    alert = {
        "status": "firing",
        "labels": {"alertname": "Drift", "retraining_reason": "data_drift"},
        "startsAt": "2026-11-23T09:30:00Z",
        "fingerprint": "f",
    }
    payload = {"version": "4", "status": "firing", "alerts": [alert]}
    token = {"Authorization": f"Bearer {client.app.state.webhook_token}"}  # type: ignore[attr-defined]
    assert client.post("/alerts", json=payload, headers=token).status_code == 200
    after = _samples(client.get("/metrics").text)[MODEL_RETRAINING_DECISIONS.name]
    assert ({"decision": "RETRAINING_TRIGGERED", "reason": "data_drift"}, 1.0) in after
