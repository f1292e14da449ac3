"""Target profiles: where each service of the stack lives, for compose, the native stack and
Kubernetes.

The generator renders Prometheus and Alertmanager configs once per profile, so the native stack
(`make local`) and the end-to-end test use configs compiled from the same sources as compose,
never files edited with sed. The Kubernetes target (`generated/kubernetes/`) runs beside a
kube-prometheus-stack release: `KUBERNETES` says what it assumes of that release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from authoring import config

__all__ = [
    "COMPOSE",
    "KUBERNETES",
    "KUBE_PROMETHEUS_STACK",
    "LOCAL",
    "PROFILES",
    "KubePrometheusStack",
    "KubernetesTarget",
    "Profile",
]


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
    # the compose addresses. Both empty: a deployment without retraining (no worker to scrape,
    # no Prefect server; the API records its triggers "unconfigured").
    retrain_worker: str = "retrain-worker:9400"
    prefect: str = "prefect-server:4200"
    # host:port of every API replica when there are several; the first is `api`, the address
    # clients and Alertmanager's webhook use, as a Kubernetes Service would be. Empty: `api`
    # alone.
    api_replicas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.api_replicas and self.api_replicas[0] != self.api:
            raise ValueError(
                f"profile {self.name}: the first API replica ({self.api_replicas[0]}) must be "
                f"`api` ({self.api}), the address clients and Alertmanager use"
            )

    @property
    def api_targets(self) -> tuple[str, ...]:
        """host:port of every API replica Prometheus scrapes (job config.API_JOB)."""
        return self.api_replicas or (self.api,)

    @property
    def alert_webhook_url(self) -> str:
        """The API's Alertmanager webhook receiver (`POST /alerts`)."""
        return f"http://{self.api}/alerts"

    def targets(self) -> dict[str, str]:
        """Scrape job name -> target address (the API's first replica: `api_targets` has them
        all); the retrain worker only when the profile has one."""
        targets = {
            config.API_JOB: self.api,
            config.NODE_JOB: self.node_exporter,
            config.PROMETHEUS_JOB: self.prometheus,
            config.ALERTMANAGER_JOB: self.alertmanager,
            config.RETRAIN_WORKER_JOB: self.retrain_worker,
        }
        return {job: target for job, target in targets.items() if target}


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


@dataclass(frozen=True)
class KubePrometheusStack:
    """The kube-prometheus-stack release the Kubernetes target is written for.

    Its Prometheus selects ServiceMonitors and PrometheusRules by the label `release: <release>`
    (the chart's default `*SelectorNilUsesHelmValues: true`), in every namespace; its services
    are named from the release as the chart's `kube-prometheus-stack.fullname` names them.

    >>> KubePrometheusStack().service("alertmanager", 9093)
    'kube-prometheus-stack-alertmanager.monitoring:9093'
    """

    # The chart version the outputs and the README's values are checked against, and the
    # Prometheus Operator it installs (its CRDs: the schemas the objects must satisfy).
    chart_version: str = "88.5.3"
    operator_version: str = "v0.93.1"
    release: str = "kube-prometheus-stack"
    namespace: str = "monitoring"

    @property
    def fullname(self) -> str:
        """The chart's prefix of every object's name: the release name when it contains the
        chart's name, else `<release>-kube-prometheus-stack`, cut at 26 characters."""
        chart = "kube-prometheus-stack"
        name = self.release if chart in self.release else f"{self.release}-{chart}"
        return name[:26].removesuffix("-")

    def service(self, component: str, port: int) -> str:
        """host:port of one of the chart's services, from another namespace."""
        return f"{self.fullname}-{component}.{self.namespace}:{port}"


KUBE_PROMETHEUS_STACK = KubePrometheusStack()


@dataclass(frozen=True)
class KubernetesTarget:
    """What the Kubernetes target deploys, and where: the API's namespace and replicas, the
    image, the Secret it reads, the Kubernetes version the objects are validated against."""

    profile: Profile
    chart: KubePrometheusStack
    namespace: str
    # The oldest Kubernetes minor still supported upstream when this was pinned; the objects
    # validate against its OpenAPI schema (kubernetes-validate) and use nothing newer.
    kubernetes_version: str = "1.35"
    api_replicas: int = 3
    # The image docker-compose.yml builds (api/Dockerfile); a registry's copy is set with an
    # overlay's `images:`.
    image: str = "bikewatch/bike-api:local"
    # The API's secrets, keyed by their names in .env (`--from-env-file`), never in generated/.
    secret_name: str = "bike-api-secrets"
    # The drift monitor (`make drift-report`) weekly: labelled data arrive weekly.
    monitor_schedule: str = "0 6 * * 1"


_KUBERNETES_NAMESPACE = "bikewatch"
# The API's Service, as the chart's Alertmanager (in its own namespace) reaches it. MLflow, Prefect
# and the retrain worker are not part of the target: the API expects them under their compose
# names in its own namespace.
KUBERNETES = KubernetesTarget(
    profile=Profile(
        name="kubernetes",
        api=f"bike-api.{_KUBERNETES_NAMESPACE}.svc:8080",
        node_exporter=KUBE_PROMETHEUS_STACK.service("prometheus-node-exporter", 9100),
        prometheus=KUBE_PROMETHEUS_STACK.service("prometheus", 9090),
        alertmanager=KUBE_PROMETHEUS_STACK.service("alertmanager", 9093),
        grafana=KUBE_PROMETHEUS_STACK.service("grafana", 80),
        # Alertmanager reads the webhook's token from a Secret (AlertmanagerConfig), not a file.
        webhook_credentials_file="",
        mlflow="mlflow:5000",
        retrain_worker="retrain-worker:9400",
        prefect="prefect-server:4200",
    ),
    chart=KUBE_PROMETHEUS_STACK,
    namespace=_KUBERNETES_NAMESPACE,
)
PROFILES = (COMPOSE, LOCAL, KUBERNETES.profile)
