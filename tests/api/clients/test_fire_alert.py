"""`make fire-alert`: reading Prometheus' alerts API, alerts told apart by retraining reason; the
drift episode's decision, and why none came (read from a real Alertmanager)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from api.clients.fire_alert import WAITED_FOR, diagnose, episode_decision, firing_alerts
from api.retraining import REASON_LABEL
from devtools.local.processes import free_port


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


def test_a_missing_decision_is_explained_from_a_real_alertmanager(tmp_path: Path) -> None:
    """The drill's diagnosis when no decision comes: a silence, an inhibition, an alert
    Alertmanager never got, or (active, unsuppressed) its notification log."""
    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager is missing: `make system-deps` installs it"
    config = {
        "route": {"receiver": "none"},
        "receivers": [{"name": "none"}],
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["area"],
            }
        ],
    }
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address={address}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}"
    no_api = f"http://127.0.0.1:{free_port()}"  # its metrics unreadable: nothing refused
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "Alertmanager did not start"
                time.sleep(0.2)
        alerts = [
            {"labels": {"alertname": "Silenced", "severity": "warning", "area": "a"}},
            {"labels": {"alertname": "Inhibited", "severity": "warning", "area": "b"}},
            {"labels": {"alertname": "Cause", "severity": "critical", "area": "b"}},
            {"labels": {"alertname": "Notified", "severity": "warning", "area": "c"}},
        ]
        assert httpx.post(f"{url}/api/v2/alerts", json=alerts).status_code == 200
        now = datetime.now(UTC)
        silence = {
            "matchers": [{"name": "alertname", "value": "Silenced", "isRegex": False}],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "test",
            "comment": "maintenance",
        }
        silence_id = httpx.post(f"{url}/api/v2/silences", json=silence).json()["silenceID"]

        def cause(name: str) -> str:
            with httpx.Client() as client:
                return diagnose(url, no_api, name, client)

        deadline = time.monotonic() + 30
        while "silence" not in cause("Silenced") or "inhibition" not in cause("Inhibited"):
            assert time.monotonic() < deadline, (cause("Silenced"), cause("Inhibited"))
            time.sleep(0.5)
        assert silence_id in cause("Silenced")
        assert "does not hold the alert" in cause("NeverSent")
        assert "notification log" in cause("Notified")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_the_episode_decision_is_the_open_one() -> None:
    drift = {"alertname": "Drift", "status": "firing", "decision": "RETRAINING_TRIGGERED"}
    resolved = {"alertname": "Drift", "status": "resolved", "decision": "NO_ACTION"}
    other = {"alertname": "Other", "status": "firing", "decision": "NO_ACTION"}
    assert episode_decision([drift, other], "Drift") is drift
    assert episode_decision([drift, resolved], "Drift") is None  # closed: wait for a new one
    assert episode_decision([drift, resolved, {**drift, "n": 2}], "Drift") == {**drift, "n": 2}
    assert episode_decision([other], "Drift") is None
