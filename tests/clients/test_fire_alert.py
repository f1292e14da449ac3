"""`make fire-alert`: reading Prometheus' alerts API."""

from __future__ import annotations

import httpx

from api.clients.fire_alert import WAITED_FOR, firing_alerts
from rules_py.names import BIKE_DATA_DRIFT_DETECTED, BIKE_MODEL_RMSE_HIGH


def test_alerts_are_grouped_by_name_with_their_state() -> None:
    body = {
        "status": "success",
        "data": {
            "alerts": [
                {"labels": {"alertname": BIKE_DATA_DRIFT_DETECTED}, "state": "firing"},
                {"labels": {"alertname": BIKE_MODEL_RMSE_HIGH}, "state": "pending"},
                {"labels": {"alertname": "Other"}, "state": "firing"},
            ]
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/alerts"
        return httpx.Response(200, json=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        alerts = firing_alerts("http://prometheus:9090", client)
    assert [a["state"] for a in alerts[BIKE_DATA_DRIFT_DETECTED]] == ["firing"]
    assert [a["state"] for a in alerts[BIKE_MODEL_RMSE_HIGH]] == ["pending"]
    assert set(WAITED_FOR) == {BIKE_DATA_DRIFT_DETECTED, BIKE_MODEL_RMSE_HIGH}
