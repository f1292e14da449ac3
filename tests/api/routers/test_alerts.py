"""POST /alerts (Alertmanager's webhook) and GET /alerts/decisions, through the real app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from api.config import Settings
from api.main import create_app
from api.metrics import API_ERRORS, MODEL_RETRAINING_DECISIONS
from api.retraining import HISTORY_SIZE, REASON_LABEL

# What Alertmanager 0.25-0.27 posts to a webhook_config (captured shape, payload version 4).
ALERTMANAGER_PAYLOAD = """
{
  "receiver": "bike-api",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "BikeDataDriftDetected", "job": "bike-api",
                 "instance": "bike-api:8080", "severity": "warning",
                 "retraining_reason": "data_drift", "team": "bikewatch"},
      "annotations": {"summary": "Input data drifted from the January reference",
                      "description": "45.45% of the model's features drifted",
                      "runbook_url": "https://example.invalid/RUNBOOK.md#bikedatadriftdetected"},
      "startsAt": "2026-11-23T09:30:12.345Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
      "fingerprint": "5c7a2b9e8f1d3a46"
    }
  ],
  "groupLabels": {"alertname": "BikeDataDriftDetected"},
  "commonLabels": {"alertname": "BikeDataDriftDetected", "severity": "warning"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "version": "4",
  "groupKey": "{}:{alertname=\\"BikeDataDriftDetected\\"}",
  "truncatedAlerts": 0
}
"""


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


TOKEN = "the-webhook-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(tmp_path: Path, registry: CollectorRegistry) -> Iterator[TestClient]:
    """As Alertmanager calls it: with the shared token."""
    # No model: the webhook must work whatever the model's state (BikeModelNotLoaded goes here).
    settings = Settings(
        model_dir=tmp_path / "no-model", state_dir=tmp_path / "state", alert_webhook_token=TOKEN
    )
    with TestClient(create_app(settings, registry), headers=BEARER) as c:
        yield c


# The API decides on the `retraining_reason` label; the names only tell alerts apart.
DRIFT, QUALITY, OTHER = "AnyDriftAlert", "AnyQualityAlert", "AnyOtherAlert"
REASONS = {DRIFT: "data_drift", QUALITY: "model_quality"}


def alert(alertname: str, status: str = "firing", fingerprint: str = "f1", **extra: Any) -> dict:
    reason = {REASON_LABEL: REASONS[alertname]} if alertname in REASONS else {}
    return {
        "status": status,
        "labels": {"alertname": alertname, "severity": "warning", **reason},
        "annotations": {"summary": "s"},
        "startsAt": "2026-11-23T09:30:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": fingerprint,
        **extra,
    }


def payload(*alerts: dict, status: str = "firing") -> dict:
    return {"version": "4", "status": status, "receiver": "bike-api", "alerts": list(alerts)}


def count(registry: CollectorRegistry, decision: str, reason: str) -> float:
    labels = {"decision": decision, "reason": reason}
    return registry.get_sample_value(MODEL_RETRAINING_DECISIONS.name, labels) or 0.0


def test_alertmanagers_drift_notification_triggers_retraining(
    client: TestClient, registry: CollectorRegistry
) -> None:
    response = client.post(
        "/alerts", content=ALERTMANAGER_PAYLOAD, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["retraining_triggered"] is True
    assert body["received"] == 1 and body["already_decided"] == 0
    assert [(d["alertname"], d["decision"], d["reason"]) for d in body["decisions"]] == [
        ("BikeDataDriftDetected", "RETRAINING_TRIGGERED", "data_drift")
    ]
    assert count(registry, "RETRAINING_TRIGGERED", "data_drift") == 1
    exposition = client.get("/metrics").text
    assert (
        f'{MODEL_RETRAINING_DECISIONS.name}{{decision="RETRAINING_TRIGGERED",reason="data_drift"}}'
        " 1.0" in exposition
    )


def test_a_group_notification_decides_per_alert(
    client: TestClient, registry: CollectorRegistry
) -> None:
    body = client.post(
        "/alerts",
        json=payload(
            alert(DRIFT, fingerprint="a"),
            alert(QUALITY, fingerprint="b"),
            alert(OTHER, "resolved", fingerprint="c"),
        ),
    ).json()
    assert [(d["decision"], d["reason"]) for d in body["decisions"]] == [
        ("RETRAINING_TRIGGERED", "data_drift"),
        ("NO_ACTION", "model_quality"),
        ("NO_ACTION", "resolved"),
    ]
    assert count(registry, "NO_ACTION", "model_quality") == 1
    assert count(registry, "NO_ACTION", "resolved") == 1


def test_without_a_drift_alert_nothing_is_retrained(client: TestClient) -> None:
    body = client.post("/alerts", json=payload(alert(OTHER))).json()
    assert body["retraining_triggered"] is False
    assert body["decisions"][0]["decision"] == "NO_ACTION"
    assert body["decisions"][0]["reason"] == "other_alert"


def test_a_resent_notification_is_not_decided_twice(
    client: TestClient, registry: CollectorRegistry
) -> None:
    drift = payload(alert(DRIFT))
    client.post("/alerts", json=drift)
    body = client.post("/alerts", json=drift).json()
    assert body == {
        "received": 1,
        "truncated": 0,
        "already_decided": 1,
        "retraining_triggered": False,
        "decisions": [],
    }
    assert count(registry, "RETRAINING_TRIGGERED", "data_drift") == 1


def test_decisions_lists_the_newest_oldest_first_and_stays_bounded(client: TestClient) -> None:
    assert client.get("/alerts/decisions").json() == {"size": 0, "decisions": [], "triggers": []}
    total = HISTORY_SIZE + 5
    for i in range(total):
        client.post("/alerts", json=payload(alert(OTHER, fingerprint=f"fp{i}")))
    body = client.get("/alerts/decisions").json()
    assert body["size"] == HISTORY_SIZE
    fingerprints = [d["fingerprint"] for d in body["decisions"]]
    assert fingerprints == [f"fp{i}" for i in range(total - HISTORY_SIZE, total)]


def _without(key: str) -> dict:
    bad = alert(DRIFT)
    del bad[key]
    return payload(bad)


BAD_PAYLOADS = [
    ("no version", {"status": "firing", "alerts": [alert("X")]}, "version"),
    ("another payload version", {**payload(alert("X")), "version": "3"}, "version"),
    ("unknown group status", payload(alert("X"), status="pending"), "status"),
    ("no alerts", payload(), "alerts"),
    ("alerts not a list", {**payload(), "alerts": {"a": 1}}, "alerts"),
    ("unknown alert status", payload(alert("X", status="pending")), "alerts[0].status"),
    (
        "no alertname",
        payload({**alert("X"), "labels": {"severity": "x"}}),
        "alerts[0].labels.alertname",
    ),
    (
        "label not a string",
        payload({**alert("X"), "labels": {"alertname": 1}}),
        "alerts[0].labels.alertname",
    ),
    ("startsAt not a time", payload(alert("X", startsAt="yesterday")), "alerts[0].startsAt"),
    ("no startsAt", _without("startsAt"), "alerts[0].startsAt"),
    ("no fingerprint", _without("fingerprint"), "alerts[0].fingerprint"),
    ("empty fingerprint", payload(alert("X", fingerprint="")), "alerts[0].fingerprint"),
]


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for _, b, f in BAD_PAYLOADS], ids=[n for n, _, _ in BAD_PAYLOADS]
)
def test_a_bad_payload_is_a_422_naming_the_field(
    client: TestClient, registry: CollectorRegistry, body: dict, field: str
) -> None:
    response = client.post("/alerts", json=body)
    assert response.status_code == 422, response.text
    # `loc` is the full path (body, alerts, 0, fingerprint); `field` names it below the body.
    assert field in [problem["field"] for problem in response.json()["detail"]]
    assert client.get("/alerts/decisions").json()["size"] == 0


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/alerts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert json.loads(response.text)["detail"]


def test_alerts_alertmanager_truncated_are_reported_not_lost_silently(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = {**payload(alert(DRIFT)), "truncatedAlerts": 3}
    with caplog.at_level("WARNING", logger="bike-api.alerts"):
        summary = client.post("/alerts", json=body).json()
    assert summary["truncated"] == 3 and summary["received"] == 1
    assert "left out 3 alerts" in caplog.text


# --- Authentication: only Alertmanager (holding the token) may call the webhook ---------------


def _unauthorized(registry: CollectorRegistry) -> float:
    labels = {"endpoint": "/alerts", "error_type": "unauthorized"}
    return registry.get_sample_value(API_ERRORS.name, labels) or 0.0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ],
    ids=["none", "wrong", "other scheme", "longer", "shorter"],
)
def test_a_forged_alert_is_refused_and_counted(
    client: TestClient, registry: CollectorRegistry, headers: dict[str, str]
) -> None:
    body = json.loads(ALERTMANAGER_PAYLOAD)
    response = client.post("/alerts", json=body, headers={"Authorization": "", **headers})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert count(registry, "RETRAINING_TRIGGERED", "data_drift") == 0
    assert client.get("/alerts/decisions").json()["size"] == 0
    assert _unauthorized(registry) == 1


def test_without_a_configured_token_the_webhook_refuses_everything(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    app = create_app(Settings(model_dir=tmp_path / "m", state_dir=tmp_path / "s"), registry)
    with TestClient(app) as c:
        for headers in ({}, BEARER, {"Authorization": "Bearer "}):
            response = c.post("/alerts", json=json.loads(ALERTMANAGER_PAYLOAD), headers=headers)
            assert response.status_code == 403
            assert "ALERT_WEBHOOK_TOKEN" in response.json()["detail"]
    assert count(registry, "RETRAINING_TRIGGERED", "data_drift") == 0


def test_the_token_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(f"{TOKEN}\n")  # a trailing newline, as editors write files
    settings = Settings(
        model_dir=tmp_path / "m", state_dir=tmp_path / "s", alert_webhook_token_file=secret
    )
    with TestClient(create_app(settings, CollectorRegistry())) as c:
        body = json.loads(ALERTMANAGER_PAYLOAD)
        assert c.post("/alerts", json=body).status_code == 401
        assert c.post("/alerts", json=body, headers=BEARER).status_code == 200


@pytest.mark.parametrize("content", [None, "", "\n"], ids=["missing", "empty", "blank"])
def test_a_token_file_that_yields_no_token_fails_closed(
    tmp_path: Path, content: str | None
) -> None:
    secret = tmp_path / "token"
    if content is not None:
        secret.write_text(content)
    settings = Settings(
        model_dir=tmp_path / "m", state_dir=tmp_path / "s", alert_webhook_token_file=secret
    )
    with TestClient(create_app(settings, CollectorRegistry())) as c:
        body = json.loads(ALERTMANAGER_PAYLOAD)
        for headers in ({}, BEARER, {"Authorization": "Bearer "}):
            assert c.post("/alerts", json=body, headers=headers).status_code == 403


def test_a_resolved_then_refired_forgery_cannot_trigger_a_second_retraining(
    client: TestClient, registry: CollectorRegistry
) -> None:
    """The attack of the issue: resolve the alert, fire it again with a new startsAt."""
    drift = alert(DRIFT)
    client.post("/alerts", json=payload(drift))
    forged = [
        payload({**drift, "status": "resolved"}, status="resolved"),
        payload({**drift, "startsAt": "2026-11-24T09:30:00Z"}),
    ]
    for body in forged:
        assert client.post("/alerts", json=body, headers={"Authorization": ""}).status_code == 401
    assert count(registry, "RETRAINING_TRIGGERED", "data_drift") == 1


# --- Bounded: no payload can grow the API's memory ----------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda a: a["labels"].update(alertname="A" * 2_000_000), "alerts[0].labels.alertname"),
        (lambda a: a["labels"].update(team="é" * 1025), "alerts[0].labels.team"),
        (lambda a: a.update(endsAt=0), "alerts[0].endsAt"),  # a date-time is text
        (lambda a: a["labels"].update({f"l{i}": "v" for i in range(70)}), "alerts[0].labels"),
        (lambda a: a["annotations"].update(summary="s" * 9000), "alerts[0].annotations.summary"),
        (lambda a: a.update(fingerprint="f" * 65), "alerts[0].fingerprint"),
        (lambda a: a.update(generatorURL="u" * 3000), "alerts[0].generatorURL"),
    ],
    ids=[
        "2 MB alertname",
        "label value",
        "numeric date-time",
        "too many labels",
        "annotation",
        "fingerprint",
        "url",
    ],
)
def test_every_string_of_the_payload_is_bounded(
    client: TestClient, mutate: Any, field: str
) -> None:
    big = alert(DRIFT)
    mutate(big)
    response = client.post("/alerts", json=payload(big))
    assert response.status_code in (413, 422), response.text[:300]
    if response.status_code == 422:
        assert field in [p["field"] for p in response.json()["detail"]]
    assert client.get("/alerts/decisions").json()["size"] == 0


def test_the_group_key_is_bounded_too(client: TestClient) -> None:
    body = {**payload(alert(DRIFT)), "groupKey": "k" * 5000}
    response = client.post("/alerts", json=body)
    assert response.status_code == 422
    assert "groupKey" in response.json()["message"]


def test_the_history_stays_bounded_in_bytes(client: TestClient) -> None:
    """At most HISTORY_SIZE decisions, each field bounded: the history's size has a ceiling."""
    value = "v" * 1024
    for i in range(HISTORY_SIZE + 20):
        labelled = alert(OTHER, fingerprint=f"fp{i}")
        labelled["labels"]["alertname"] = value
        assert client.post("/alerts", json=payload(labelled)).status_code == 200
    text = client.get("/alerts/decisions").text
    assert client.get("/alerts/decisions").json()["size"] == HISTORY_SIZE
    assert len(text) < HISTORY_SIZE * 1400
