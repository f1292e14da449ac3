"""Target profiles: where each service of the stack lives, for compose and for the native stack.

The generator renders Prometheus and Alertmanager configs once per profile, so the native stack
(`make local`) and the end-to-end test use configs compiled from the same sources as compose,
never files edited with sed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from authoring import config

__all__ = ["COMPOSE", "LOCAL", "PROFILES", "Profile"]


@dataclass(frozen=True)
class Profile:
    """Addresses and intervals of one deployment of the stack."""

    name: str
    api: str  # host:port of bike-api
    node_exporter: str
    prometheus: str
    alertmanager: str
    grafana: str
    # Prometheus's own default; dashboards' $__rate_interval assumes at least this.
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    # Where Prometheus finds the rule files (relative paths resolve against the config file).
    rules_dir: str = "/etc/prometheus/rules"
    # Optional services, found by DNS name: scraped while they run, no target while they do not.
    optional: Mapping[str, str] = field(default_factory=dict)
    # The file holding the webhook's bearer token, as Alertmanager reads it (relative paths
    # resolve against alertmanager.yml's folder). The token itself is never compiled: it lives
    # in .env, and this file is written from it at start (compose: by the container's
    # entrypoint into a tmpfs; native: secrets/ by devtools.secrets).
    webhook_credentials_file: str = "/run/secrets/alert-webhook-token"
    # MLflow's tracking server and registry (the API follows bike-demand@champion there).
    mlflow: str = "mlflow:5000"
    # The retrain worker's /metrics (it serves the `retrain` deployment; scraped), and the
    # Prefect server the API hands RETRAINING_TRIGGERED decisions to. Defaults as for mlflow:
    # the compose addresses.
    retrain_worker: str = "retrain-worker:9400"
    prefect: str = "prefect-server:4200"

    @property
    def alert_webhook_url(self) -> str:
        """The API's Alertmanager webhook receiver (`POST /alerts`)."""
        return f"http://{self.api}/alerts"

    def targets(self) -> dict[str, str]:
        """Scrape job name -> target address."""
        return {
            config.API_JOB: self.api,
            config.NODE_JOB: self.node_exporter,
            config.PROMETHEUS_JOB: self.prometheus,
            config.ALERTMANAGER_JOB: self.alertmanager,
            config.RETRAIN_WORKER_JOB: self.retrain_worker,
        }


# Compose service names and their container ports.
COMPOSE = Profile(
    name="compose",
    api="bike-api:8080",
    node_exporter="node-exporter:9100",
    prometheus="prometheus:9090",
    alertmanager="alertmanager:9093",
    grafana="grafana:3000",
    retrain_worker="retrain-worker:9400",
    prefect="prefect-server:4200",
    # `docker compose --profile cadvisor up -d`: the container port, not the published 8081.
    optional={config.CADVISOR_JOB: "cadvisor:8080"},
)
# The native stack binds loopback only, on the same ports as compose publishes.
LOCAL = Profile(
    name="local",
    api="127.0.0.1:8080",
    node_exporter="127.0.0.1:9100",
    prometheus="127.0.0.1:9090",
    alertmanager="127.0.0.1:9093",
    grafana="127.0.0.1:3000",
    # rule_files resolve against the config file: generated/local/prometheus/prometheus.yml.
    rules_dir="../../prometheus/rules",
    # From generated/local/alertmanager/: the repository's secrets/ (devtools.secrets).
    webhook_credentials_file="../../../secrets/alert-webhook-token",
    mlflow="127.0.0.1:5000",
    retrain_worker="127.0.0.1:9400",
    prefect="127.0.0.1:4200",
)
PROFILES = (COMPOSE, LOCAL)
