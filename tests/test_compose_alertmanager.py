"""Compose's Alertmanager entrypoint, run for real with Debian's Alertmanager: the token goes
from the environment to the file alertmanager.yml names, only its owner reads it, the process
keeps no copy in its environment, and each notification carries it to the webhook."""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devtools.local.processes import free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = re.compile(r"PASSWORD|SECRET_KEY|TOKEN|API_KEY")
TOKEN = "a-token-from-dot-env"


class _Webhook(http.server.BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Webhook.seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _shell(word: str) -> str:
    # What compose passes to the container: `$$` is compose's escape for a literal `$`.
    return word.replace("$$", "$")


def test_the_entrypoint_hands_the_token_to_alertmanager_by_file(tmp_path: Path) -> None:
    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager is missing: `make system-deps` installs it"
    service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["alertmanager"]
    secrets_dir = tmp_path / "run-secrets"  # the service's tmpfs
    secrets_dir.mkdir()
    assert service["tmpfs"] == ["/run/secrets"]

    webhook = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    config = yaml.safe_load((ROOT / "generated" / "alertmanager" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"http://127.0.0.1:{webhook.server_port}/alerts"
            authorization = hook["http_config"]["authorization"]
            authorization["credentials_file"] = authorization["credentials_file"].replace(
                "/run/secrets", str(secrets_dir)
            )
    config["route"]["group_wait"] = "0s"
    for route in config["route"]["routes"]:
        route["group_wait"] = "0s"
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))

    port = free_port()
    flags = {
        "--config.file": str(config_file),
        "--storage.path": str(tmp_path / "data"),
    }
    command = [
        f"{arg.split('=', 1)[0]}={flags[arg.split('=', 1)[0]]}"
        if arg.split("=")[0] in flags
        else arg
        for arg in service["command"]
    ] + [f"--web.listen-address=127.0.0.1:{port}"]
    entrypoint = [
        _shell(word).replace("/run/secrets", str(secrets_dir)).replace("/bin/alertmanager", binary)
        for word in service["entrypoint"]
    ]
    proc = subprocess.Popen(
        [*entrypoint, *command],
        env={"PATH": os.environ["PATH"], "ALERT_WEBHOOK_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        token_file = secrets_dir / "alert-webhook-token"
        assert token_file.read_text() == TOKEN
        assert token_file.stat().st_mode & 0o777 == 0o600
        # exec replaced the shell: the pid is Alertmanager's, without the token in its environ.
        assert Path(f"/proc/{proc.pid}/exe").resolve() == Path(binary).resolve()
        assert b"ALERT_WEBHOOK_TOKEN" not in Path(f"/proc/{proc.pid}/environ").read_bytes()

        alert = [{"labels": {"alertname": "Probe", "severity": "critical"}}]
        assert httpx.post(f"{url}/api/v2/alerts", json=alert).status_code == 200
        deadline = time.monotonic() + 30
        while not _Webhook.seen and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _Webhook.seen and set(_Webhook.seen) == {f"Bearer {TOKEN}"}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        webhook.shutdown()
        webhook.server_close()


@pytest.mark.parametrize(
    "service",
    ["bike-api", "alertmanager", "grafana", "evaluation", "train", "mlflow", "postgres"],
)
def test_each_secret_reaches_its_service_from_dot_env(service: str) -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    environment = services[service]["environment"]
    wanted = {
        "bike-api": {"ALERT_WEBHOOK_TOKEN", "EVALUATE_API_KEY", "MLFLOW_TRACKING_PASSWORD"},
        "alertmanager": {"ALERT_WEBHOOK_TOKEN"},
        "grafana": {"GF_SECURITY_ADMIN_PASSWORD", "GF_SECURITY_SECRET_KEY"},
        "evaluation": {"EVALUATE_API_KEY"},
        "train": {"MLFLOW_TRACKING_PASSWORD"},
        # (and PostgreSQL's password, inside MLFLOW_BACKEND_STORE_URI)
        "mlflow": {"MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY"},
        "postgres": {"POSTGRES_PASSWORD"},
    }[service]
    for key in wanted:
        assert str(environment[key]).startswith("${"), (service, key)
    # Each service gets the secrets it uses, no other.
    given = {k for k, v in environment.items() if v is not None and SECRET.search(k)}
    assert given == wanted, (service, given)
