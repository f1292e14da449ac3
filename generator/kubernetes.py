"""The Kubernetes target: `generated/kubernetes/`, a kustomize base beside kube-prometheus-stack.

bike-api (Deployment, Service, PodDisruptionBudget), its training Job and the drift monitor's
CronJob, with the environment the compose services have and their secrets from a Secret; then
what the chart's operators and Grafana sidecars pick up: a ServiceMonitor, one PrometheusRule per
rule group, the dashboards and the Grafana alerting provisioning as labelled ConfigMaps, and an
AlertmanagerConfig routing the retraining alerts to the API's webhook.

Nothing is compiled twice: the rule specs, dashboards and Grafana rule files are the very texts
of `generated/prometheus/rules/`, `generated/grafana/dashboards/` and
`generated/grafana/provisioning/alerting/` (the build checks they load back byte for byte).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from api.metrics import ALL_SPECS as API_SPECS
from api.retraining import REASON_LABEL
from authoring import config
from authoring.profiles import KubernetesTarget
from authoring.rules_dsl import RuleGroup
from generator import dashboard_json, grafana_alerting, prometheus_rules
from generator.errors import BuildError
from generator.grafana_provisioning import GRAFANA_FOLDER
from generator.stack_configs import ALERTMANAGER_RECEIVER, inhibit_rules
from generator.yaml_out import dump, dump_with_blocks

__all__ = [
    "DIR",
    "GRAFANA_ALERT_LABEL",
    "GRAFANA_DASHBOARD_LABEL",
    "GRAFANA_FOLDER_ANNOTATION",
    "OPERATOR_TARGET_LABELS",
    "SECRET_KEYS",
    "chart_values",
    "outputs",
]

DIR = "kubernetes"
PART_OF = {"app.kubernetes.io/part-of": "bikewatch"}
# What the kube-prometheus-stack Grafana's sidecars look for (README: the values assumed).
GRAFANA_DASHBOARD_LABEL = ("grafana_dashboard", "1")
GRAFANA_FOLDER_ANNOTATION = "grafana_folder"
GRAFANA_ALERT_LABEL = ("grafana_alert", "1")
# The labels the Prometheus Operator gives every target of a ServiceMonitor. A metric label of
# the same name would lose to the target's (renamed `exported_<name>`), so those the API's
# metrics carry are dropped from the target: `endpoint` is the API's HTTP route.
OPERATOR_TARGET_LABELS = ("container", "endpoint", "instance", "job", "namespace", "pod", "service")
# The image's user (api/Dockerfile: useradd --uid 10001); a numeric id lets the kubelet check
# runAsNonRoot.
IMAGE_UID = 10001
API_PORT = 8080
# Secret key (the .env name, so `--from-env-file` fills it) of each variable read from it.
SECRET_KEYS = {
    "ALERT_WEBHOOK_TOKEN": "ALERT_WEBHOOK_TOKEN",
    "EVALUATE_API_KEY": "EVALUATE_API_KEY",
    "MLFLOW_TRACKING_PASSWORD": "MLFLOW_ADMIN_PASSWORD",
    "PREFECT_ADMIN_PASSWORD": "PREFECT_ADMIN_PASSWORD",
}
# Sizes, as compose's mem_limit: a worker holds the model (~0.2 GB) and its evaluation child
# Evidently (~0.35 GB); the training holds the data and a forest; the monitor two months of rows
# and Evidently. Requests are what they use at rest, limits what compose allows.
API_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "768Mi"},
    "limits": {"cpu": "1", "memory": "2Gi"},
}
TRAIN_RESOURCES = {
    "requests": {"cpu": "500m", "memory": "1Gi"},
    "limits": {"cpu": "2", "memory": "2Gi"},
}
MONITOR_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}
# The monitor's exit codes that no retry changes: 2 (bad arguments) and 3 (RETRAINING_TRIGGERED,
# api.evaluation.monitor.EXIT_RETRAINING): the Job fails at once, its log line says why.
MONITOR_FINAL_EXIT_CODES = (2, 3)


def _meta(
    name: str,
    target: KubernetesTarget,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": target.namespace,
        "labels": {**PART_OF, **(labels or {})},
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _component(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "bike-api", "app.kubernetes.io/component": component}


def _secret_key(target: KubernetesTarget, variable: str) -> dict[str, str]:
    return {"name": target.secret_name, "key": SECRET_KEYS[variable]}


def _secret(target: KubernetesTarget, variable: str) -> dict[str, Any]:
    return {"secretKeyRef": _secret_key(target, variable)}


def _env(target: KubernetesTarget, values: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """Sorted by name (a `$(VAR)` reference needs VAR before it); None reads the Secret."""
    env: list[dict[str, Any]] = []
    for name, value in sorted(values.items()):
        if value is None:
            env.append({"name": name, "valueFrom": _secret(target, name)})
            continue
        for reference in re.findall(r"\$\(([A-Z_]+)\)", value):
            if reference not in {e["name"] for e in env}:
                raise BuildError(f"{DIR}: {name} reads $({reference}), which is not set before it")
        env.append({"name": name, "value": value})
    return env


def _bike_env(target: KubernetesTarget) -> dict[str, str | None]:
    """docker-compose.yml's `x-bike-env`, less the variables it passes through only when set
    (their defaults apply)."""
    return {
        "DATA_DIR": "/data",
        "MODEL_DIR": "/models",
        "REPORTS_DIR": "/reports",
        "STATE_DIR": "/state",
        "MLFLOW_TRACKING_URI": f"http://{target.profile.mlflow}",
        "MODEL_SOURCE": "registry",
    }


def _api_env(target: KubernetesTarget) -> dict[str, str | None]:
    """The compose `bike-api` service's environment."""
    return {
        **_bike_env(target),
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": "/run/bike-api-metrics",
        "ALERT_WEBHOOK_TOKEN": None,
        "EVALUATE_API_KEY": None,
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": None,
        "PREFECT_API_URL": f"http://{target.profile.prefect}/api",
        "PREFECT_ADMIN_PASSWORD": None,
        "PREFECT_API_AUTH_STRING": "admin:$(PREFECT_ADMIN_PASSWORD)",
        # Kubelet probes and Prometheus call a pod by its IP, the webhook by the Service's name:
        # the Host check (against DNS rebinding of a loopback-bound API) has nothing to guard in
        # a cluster, where the Service is the boundary.
        "ALLOWED_HOSTS": "*",
    }


def _train_env(target: KubernetesTarget) -> dict[str, str | None]:
    """The compose `train` one-shot's environment."""
    return {
        **_bike_env(target),
        "MODEL_DIR": "/tmp/model",
        "MLFLOW_TRACKING_USERNAME": "admin",
        "MLFLOW_TRACKING_PASSWORD": None,
    }


def _container_security() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": IMAGE_UID,
        "runAsGroup": IMAGE_UID,
        "fsGroup": IMAGE_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _scratch(mounts: Mapping[str, tuple[str, str]]) -> tuple[list[Any], list[Any]]:
    """(volumeMounts, volumes) of emptyDirs, {name: (path, size limit)}: the root filesystem is
    read-only, as in compose (its tmpfs and volumes). `metrics` is kept in memory (a tmpfs in
    compose: the workers' metric files)."""
    volume_mounts, volumes = [], []
    for name, (path, size) in sorted(mounts.items()):
        volume_mounts.append({"name": name, "mountPath": path})
        empty_dir = {"sizeLimit": size, **({"medium": "Memory"} if name == "metrics" else {})}
        volumes.append({"name": name, "emptyDir": empty_dir})
    return volume_mounts, volumes


def _pod(
    target: KubernetesTarget, container: dict[str, Any], volumes: list[Any], **extra: Any
) -> dict[str, Any]:
    return {
        # The API never calls the Kubernetes API; no service links (env vars named after every
        # Service in the namespace) next to the settings the API reads from its environment.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": _pod_security(),
        "containers": [
            {
                "image": target.image,
                "imagePullPolicy": "IfNotPresent",
                "securityContext": _container_security(),
                **container,
            }
        ],
        "volumes": volumes,
        **extra,
    }


def _http_probe(path: str, **timing: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": 10,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
        **timing,
    }


def _namespace(target: KubernetesTarget) -> dict[str, Any]:
    version = f"v{target.kubernetes_version}"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": target.namespace,
            "labels": {
                **PART_OF,
                # Every pod here must meet the "restricted" Pod Security Standard.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": version,
            },
        },
    }


def _deployment(target: KubernetesTarget) -> dict[str, Any]:
    labels = _component("api")
    mounts, volumes = _scratch(
        {
            "metrics": ("/run/bike-api-metrics", "64Mi"),
            "reports": ("/reports", "1Gi"),
            # The decision log, the evaluation lock and the champion cache: per pod.
            "state": ("/state", "1Gi"),
            "tmp": ("/tmp", "256Mi"),
        }
    )
    container = {
        "name": "bike-api",
        "ports": [{"name": "http", "containerPort": API_PORT, "protocol": "TCP"}],
        "env": _env(target, _api_env(target)),
        # Ready once a model is served; alive while the process answers (a missing model
        # keeps it up: /ready 503 and the model-not-loaded alert say why).
        "readinessProbe": _http_probe("/ready"),
        "livenessProbe": _http_probe("/health", initialDelaySeconds=20),
        "resources": API_RESOURCES,
        "volumeMounts": mounts,
    }
    spread = {
        "maxSkew": 1,
        "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": labels},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta("bike-api", target, labels),
        "spec": {
            "replicas": target.api_replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": labels},
            # A new pod is ready (it serves the champion) before an old one stops.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": {**PART_OF, **labels}},
                "spec": _pod(target, container, volumes, topologySpreadConstraints=[spread]),
            },
        },
    }


def _service(target: KubernetesTarget) -> dict[str, Any]:
    labels = _component("api")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta("bike-api", target, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": labels,
            "ports": [{"name": "http", "port": API_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _disruption_budget(target: KubernetesTarget) -> dict[str, Any]:
    labels = _component("api")
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta("bike-api", target, labels),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def _train_job(target: KubernetesTarget) -> dict[str, Any]:
    labels = _component("train")
    mounts, volumes = _scratch({"data": ("/data", "512Mi"), "tmp": ("/tmp", "1Gi")})
    container = {
        "name": "train",
        # Registers the first model; with a champion in the registry it does nothing.
        "command": ["python", "-m", "api.train", "--unless-champion"],
        "env": _env(target, _train_env(target)),
        "resources": TRAIN_RESOURCES,
        "volumeMounts": mounts,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _meta("bike-api-train", target, labels),
        "spec": {
            "backoffLimit": 3,
            # A Job's pod template cannot change: once finished it is removed, so applying the
            # base again (a new image) creates it anew rather than failing.
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": {**PART_OF, **labels}},
                "spec": _pod(target, container, volumes, restartPolicy="Never"),
            },
        },
    }


def _monitor_cron_job(target: KubernetesTarget) -> dict[str, Any]:
    labels = _component("monitor")
    mounts, volumes = _scratch(
        {"data": ("/data", "512Mi"), "reports": ("/reports", "512Mi"), "tmp": ("/tmp", "256Mi")}
    )
    container = {
        "name": "monitor",
        # `make drift-report`: the bundled data's January reference against February. No model
        # is mounted at MODEL_DIR, so it reports drift only.
        "command": ["python", "-m", "api.evaluation.monitor"],
        "env": _env(target, _bike_env(target)),
        "resources": MONITOR_RESOURCES,
        "volumeMounts": mounts,
    }
    job = {
        "backoffLimit": 2,
        "activeDeadlineSeconds": 1800,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": "monitor",
                        "operator": "In",
                        "values": list(MONITOR_FINAL_EXIT_CODES),
                    },
                }
            ]
        },
        "template": {
            "metadata": {"labels": {**PART_OF, **labels}},
            "spec": _pod(target, container, volumes, restartPolicy="Never"),
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta("bike-api-monitor", target, labels),
        "spec": {
            "schedule": target.monitor_schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": {**PART_OF, **labels}}, "spec": job},
        },
    }


def _release(target: KubernetesTarget) -> dict[str, str]:
    """The label the chart's Prometheus selects ServiceMonitors and PrometheusRules by."""
    return {"release": target.chart.release}


def _service_monitor(target: KubernetesTarget) -> dict[str, Any]:
    metric_labels = {label for spec in API_SPECS for label in spec.labels}
    clashing = sorted(metric_labels & set(OPERATOR_TARGET_LABELS))
    endpoint: dict[str, Any] = {
        "port": "http",
        "path": "/metrics",
        # As in compose: dashboards' $__rate_interval and the rules' windows assume 15 s.
        "interval": target.profile.scrape_interval,
        "scrapeTimeout": "10s",
    }
    if clashing:
        endpoint["relabelings"] = [{"action": "labeldrop", "regex": "|".join(clashing)}]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": _meta("bike-api", target, {**_component("api"), **_release(target)}),
        "spec": {
            # job="bike-api" (what every rule and panel selects), whatever the Service is named.
            "jobLabel": "app.kubernetes.io/name",
            "selector": {"matchLabels": _component("api")},
            "endpoints": [endpoint],
        },
    }


def _prometheus_rule(target: KubernetesTarget, text: str, path: str) -> dict[str, Any]:
    spec = yaml.safe_load(text)
    if dump(spec) != text:
        raise BuildError(f"{path}: does not load back byte for byte into a PrometheusRule spec")
    (group,) = spec["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _meta(group["name"], target, _release(target)),
        "spec": spec,
    }


def _resource_name(name: str) -> str:
    """A dashboard's file name as a DNS-1123 object name."""
    return name.replace("_", "-")


def _dashboard_config_map(target: KubernetesTarget, name: str, text: str) -> dict[str, Any]:
    key, value = GRAFANA_DASHBOARD_LABEL
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(
            f"bikewatch-dashboard-{_resource_name(name)}",
            target,
            {key: value},
            {GRAFANA_FOLDER_ANNOTATION: GRAFANA_FOLDER},
        ),
        "data": {f"{name}.json": text},
    }


def _grafana_alerting_config_map(
    target: KubernetesTarget, rule_files: Mapping[str, str]
) -> dict[str, Any]:
    """Grafana-managed rules as compose provisions them, a contact point on the chart's
    Alertmanager, and compose's root notification policy (Grafana's whole policy tree, as in
    compose: everything to that Alertmanager, which routes)."""
    key, value = GRAFANA_ALERT_LABEL
    data = {
        **rule_files,
        "contact-points.yaml": dump(grafana_alerting.contact_points(target.profile)),
        "policies.yaml": dump(grafana_alerting.policies()),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("bikewatch-grafana-alerting", target, {key: value}),
        "data": data,
    }


def _matcher(matcher: str) -> dict[str, str]:
    """`name="value"` (the compose inhibit rules' form) as an AlertmanagerConfig matcher."""
    name, _, value = matcher.partition("=")
    return {"name": name, "matchType": "=", "value": json.loads(value)}


def _alertmanager_config(target: KubernetesTarget, groups: Iterable[RuleGroup]) -> dict[str, Any]:
    """The alerts labelled `retraining_reason` to the API's webhook, timed like compose's
    warnings, with the inhibitions the rule groups declare. The operator adds a matcher on this
    namespace (its default strategy): the alerts keep the `namespace` label of the API's series."""
    timing = config.ALERTMANAGER_TIMING["warning"]
    inhibit = [
        {
            "sourceMatch": [_matcher(m) for m in rule["source_matchers"]],
            "targetMatch": [_matcher(m) for m in rule["target_matchers"]],
            "equal": rule["equal"],
        }
        for rule in inhibit_rules(groups)
    ]
    spec: dict[str, Any] = {
        "route": {
            "receiver": ALERTMANAGER_RECEIVER,
            "matchers": [{"name": REASON_LABEL, "matchType": "=~", "value": ".+"}],
            "groupBy": ["alertname", "job"],
            "groupWait": timing["group_wait"],
            "groupInterval": config.ALERTMANAGER_GROUP_INTERVAL,
            "repeatInterval": timing["repeat_interval"],
        },
        "receivers": [
            {
                "name": ALERTMANAGER_RECEIVER,
                "webhookConfigs": [
                    {
                        "url": target.profile.alert_webhook_url,
                        "sendResolved": True,
                        "httpConfig": {
                            "authorization": {
                                "type": "Bearer",
                                "credentials": _secret_key(target, "ALERT_WEBHOOK_TOKEN"),
                            }
                        },
                    }
                ],
            }
        ],
    }
    if inhibit:
        spec["inhibitRules"] = inhibit
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": _meta("bike-api-retraining", target),
        "spec": spec,
    }


def chart_values(target: KubernetesTarget) -> dict[str, Any]:
    """The kube-prometheus-stack values this base needs beyond the chart's defaults."""
    alert_label, alert_value = GRAFANA_ALERT_LABEL
    return {
        "grafana": {
            "sidecar": {
                "dashboards": {
                    "folderAnnotation": GRAFANA_FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                },
                # The uid every panel and Grafana-managed rule names (the chart's: prometheus).
                "datasources": {"uid": config.PROMETHEUS_DATASOURCE_UID},
                "alerts": {
                    "enabled": True,
                    "label": alert_label,
                    "labelValue": alert_value,
                    "searchNamespace": "ALL",
                },
            }
        }
    }


def _file_name(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def outputs(
    target: KubernetesTarget, groups: Iterable[RuleGroup], compiled: Mapping[str, str]
) -> dict[str, str]:
    """{path relative to generated/: text} of the base, from the files the build already has
    (rule files, dashboards, Grafana rule files)."""
    groups = tuple(groups)
    group_names = {g.name for g in groups}

    def under(folder: str, suffix: str) -> dict[str, str]:
        return {
            path.removeprefix(f"{folder}/").removesuffix(suffix): text
            for path, text in sorted(compiled.items())
            if path.startswith(f"{folder}/") and path.endswith(suffix)
        }

    objects = [
        _namespace(target),
        _deployment(target),
        _service(target),
        _disruption_budget(target),
        _train_job(target),
        _monitor_cron_job(target),
        _service_monitor(target),
        *(
            _prometheus_rule(target, text, f"{prometheus_rules.RULES_DIR}/{name}.yml")
            for name, text in under(prometheus_rules.RULES_DIR, ".yml").items()
        ),
        *(
            _dashboard_config_map(target, name, text)
            for name, text in under(dashboard_json.DASHBOARDS_DIR, ".json").items()
        ),
        _grafana_alerting_config_map(
            target,
            {
                f"{name}.yaml": text
                for name, text in under(prometheus_rules.GRAFANA_ALERTING_DIR, ".yaml").items()
                if name in group_names
            },
        ),
        _alertmanager_config(target, groups),
    ]
    files = {f"{DIR}/{_file_name(obj)}": dump_with_blocks(obj) for obj in objects}
    if len(files) != len(objects):
        raise BuildError(f"{DIR}: two objects of the same kind and name")
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(path.removeprefix(f"{DIR}/") for path in files),
    }
    files[f"{DIR}/kustomization.yaml"] = dump(kustomization)
    files[f"{DIR}/kube-prometheus-stack-values.yaml"] = dump(chart_values(target))
    return dict(sorted(files.items()))
