"""`make fire-alert`: reading Prometheus' alerts API, alerts told apart by retraining reason."""

from __future__ import annotations

import httpx

from api.clients.fire_alert import WAITED_FOR, firing_alerts
from api.retraining import REASON_LABEL


def test_alerts_are_grouped_by_retraining_reason_with_their_state() -> None:
    body = {
        "status": "success",
        "data": {
            "alerts": [
                {"labels": {"alertname": "A", REASON_LABEL: "data_drift"}, "state": "firing"},
                {"labels": {"alertname": "B", REASON_LABEL: "model_quality"}, "state": "pending"},
                {"labels": {"alertname": "Other"}, "state": "firing"},
            ]
        },
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/alerts"
        return httpx.Response(200, json=body)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        alerts = firing_alerts("http://prometheus:9090", client)
    assert [a["state"] for a in alerts["data_drift"]] == ["firing"]
    assert [a["state"] for a in alerts["model_quality"]] == ["pending"]
    assert set(alerts) == set(WAITED_FOR) == {"data_drift", "model_quality"}
