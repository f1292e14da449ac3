"""The Kubernetes target, proven without a cluster: kustomize builds it, every object validates
against the schemas of the pinned Kubernetes version and Prometheus Operator, the rules pass
promtool and are the very rule files, the dashboards the very JSON files.

The tools come from the registries: kubectl from apt (`make system-deps`), kubernetes-validate
from PyPI (the `dev` extra), the operator's schemas from npm (`tests/generator/kubernetes_crds`,
installed by `make test`). A missing tool fails these tests rather than skipping them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from api.config import Settings
from api.evaluation import monitor
from authoring.profiles import KUBERNETES
from generator import generate, kubernetes
from generator.dashboard_json import DASHBOARDS_DIR
from generator.prometheus_rules import GRAFANA_ALERTING_DIR, RULES_DIR, TESTS_DIR
from generator.yaml_out import dump

ROOT = Path(__file__).resolve().parents[2]
CRDS = Path(__file__).parent / "kubernetes_crds"
OPERATOR_GROUP = "monitoring.coreos.com"
# `kubectl apply` keeps the whole object in an annotation, which Kubernetes caps at 256 KiB.
LAST_APPLIED_LIMIT = 256 * 1024


class _GoYamlLoader(yaml.SafeLoader):
    """YAML as kubectl writes it: a bare `=` is a string (YAML 1.1 readers call it a `value`)."""


def _string(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    assert isinstance(node, yaml.ScalarNode)
    return str(loader.construct_scalar(node))


_GoYamlLoader.add_constructor("tag:yaml.org,2002:value", _string)


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: run `make system-deps`"
    return path


def _run(*args: str | Path, stdin: str | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], input=stdin, cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, generated_files: dict[str, str]) -> Path:
    """The fresh build, written as `generated/` holds it."""
    root = tmp_path_factory.mktemp("generated")
    generate.write(generated_files, root)
    return root


@pytest.fixture(scope="module")
def objects(generated_files: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the base, by (kind, name), from the files kustomization.yaml lists."""
    base = yaml.safe_load(generated_files[f"{kubernetes.DIR}/kustomization.yaml"])
    found = {}
    for name in base["resources"]:
        data = yaml.safe_load(generated_files[f"{kubernetes.DIR}/{name}"])
        found[(data["kind"], data["metadata"]["name"])] = data
    return found


def _of_kind(objects: dict[tuple[str, str], dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for (k, _), o in sorted(objects.items()) if k == kind]


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return list(spec["template"]["spec"]["containers"])


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def test_every_file_of_the_folder_is_listed_or_is_the_chart_values(
    generated_files: dict[str, str],
) -> None:
    listed = set(
        yaml.safe_load(generated_files[f"{kubernetes.DIR}/kustomization.yaml"])["resources"]
    )
    present = {
        p.removeprefix(f"{kubernetes.DIR}/") for p in generated_files if p.startswith("kubernetes/")
    }
    assert present - listed == {"kustomization.yaml", "kube-prometheus-stack-values.yaml"}


def test_kubectl_kustomize_builds_exactly_the_objects(
    out: Path, objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    built = _run(_tool("kubectl"), "kustomize", out / kubernetes.DIR)
    documents = [d for d in yaml.load_all(built, Loader=_GoYamlLoader) if d]
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in documents}
    assert len(by_key) == len(documents)
    # kustomize changed nothing: not a label, not a byte of an embedded dashboard.
    assert by_key == objects


def test_core_objects_validate_against_the_pinned_kubernetes_schema(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    core = [o for o in objects.values() if not o["apiVersion"].startswith(OPERATOR_GROUP)]
    assert {o["kind"] for o in core} >= {"Deployment", "Service", "Job", "CronJob", "ConfigMap"}
    version = KUBERNETES.kubernetes_version
    for obj in core:
        # strict: a field the schema does not know (a typo) fails too.
        assert kubernetes_validate.validate(obj, version, strict=True) == version


def test_the_kubernetes_validator_rejects_an_unknown_field(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = json.loads(json.dumps(objects[("Deployment", "bike-api")]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="readOnlyRootFS"):
        kubernetes_validate.validate(deployment, KUBERNETES.kubernetes_version, strict=True)


def _operator_validation(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The npm package's verdict on each object (tests/generator/kubernetes_crds/validate.mjs)."""
    assert (CRDS / "node_modules/@kubernetes-models/prometheus-operator").is_dir(), (
        f"the operator's schemas are not installed: run `make test` (npm ci in {CRDS})"
    )
    verdicts: list[dict[str, Any]] = json.loads(
        _run(_tool("node"), CRDS / "validate.mjs", stdin=json.dumps(items))
    )
    return verdicts


def test_operator_objects_validate_against_the_operator_schemas(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    operator = [o for o in objects.values() if o["apiVersion"].startswith(OPERATOR_GROUP)]
    kinds = {o["kind"] for o in operator}
    assert kinds == {"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"}
    verdicts = _operator_validation(operator)
    assert [v["error"] for v in verdicts] == [None] * len(operator), verdicts


def test_the_operator_schemas_reject_a_bad_duration_and_matcher(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    monitor_ = json.loads(json.dumps(objects[("ServiceMonitor", "bike-api")]))
    monitor_["spec"]["endpoints"][0]["interval"] = "15 seconds"
    route = json.loads(json.dumps(objects[("AlertmanagerConfig", "bike-api-retraining")]))
    route["spec"]["route"]["matchers"][0]["matchType"] = "~"
    errors = [v["error"] for v in _operator_validation([monitor_, route])]
    assert "interval" in errors[0] and "matchType" in errors[1]


def test_the_pinned_operator_package_is_the_one_installed() -> None:
    wanted = json.loads((CRDS / "package.json").read_text())["dependencies"]
    lock = json.loads((CRDS / "package-lock.json").read_text())["packages"]
    for name, version in wanted.items():
        assert lock[f"node_modules/{name}"]["version"] == version
        installed = CRDS / "node_modules" / name / "package.json"
        assert json.loads(installed.read_text())["version"] == version, "run `make test`"


def test_one_prometheus_rule_per_group_with_the_rule_file_as_its_spec(
    generated_files: dict[str, str], objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    rule_files = {
        p.removeprefix(f"{RULES_DIR}/").removesuffix(".yml"): t
        for p, t in generated_files.items()
        if p.startswith(f"{RULES_DIR}/")
    }
    rules = {o["metadata"]["name"]: o for o in _of_kind(objects, "PrometheusRule")}
    assert sorted(rules) == sorted(rule_files)
    for name, rule in rules.items():
        assert dump(rule["spec"]) == rule_files[name]  # byte for byte
        assert rule["metadata"]["labels"]["release"] == KUBERNETES.chart.release


def test_prometheus_rule_specs_pass_promtool_check_and_the_unit_tests(
    out: Path, objects: dict[tuple[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    """The specs as the operator hands them to Prometheus, in place of the rule files: the
    generated promtool tests (which read ../rules/<group>.yml) pass on them."""
    rules_dir, tests_dir = tmp_path / "prometheus/rules", tmp_path / "prometheus/tests"
    rules_dir.mkdir(parents=True)
    for rule in _of_kind(objects, "PrometheusRule"):
        (rules_dir / f"{rule['metadata']['name']}.yml").write_text(dump(rule["spec"]))
    files = sorted(rules_dir.glob("*.yml"))
    text = _run(_tool("promtool"), "check", "rules", *files)
    assert text.count("SUCCESS") == len(files)
    shutil.copytree(out / TESTS_DIR, tests_dir)
    tests = sorted(tests_dir.glob("*_test.yml"))
    text = _run(_tool("promtool"), "test", "rules", *tests, cwd=tmp_path)
    assert text.count("SUCCESS") == len(tests)


def test_dashboard_config_maps_hold_the_dashboards_byte_for_byte(
    generated_files: dict[str, str], objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    dashboards = {
        p.removeprefix(f"{DASHBOARDS_DIR}/"): t
        for p, t in generated_files.items()
        if p.startswith(f"{DASHBOARDS_DIR}/")
    }
    label, value = kubernetes.GRAFANA_DASHBOARD_LABEL
    maps = [o for o in _of_kind(objects, "ConfigMap") if label in o["metadata"]["labels"]]
    held = {key: text for m in maps for key, text in m["data"].items()}
    assert held == dashboards
    for config_map in maps:
        assert config_map["metadata"]["labels"][label] == value
        folder = config_map["metadata"]["annotations"][kubernetes.GRAFANA_FOLDER_ANNOTATION]
        assert folder == "bikewatch"


def test_grafana_alerting_config_map_for_the_sidecar(
    generated_files: dict[str, str], objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    label, value = kubernetes.GRAFANA_ALERT_LABEL
    (alerting,) = [o for o in _of_kind(objects, "ConfigMap") if label in o["metadata"]["labels"]]
    assert alerting["metadata"]["labels"][label] == value
    data = alerting["data"]
    rule_files = {
        p.removeprefix(f"{GRAFANA_ALERTING_DIR}/"): t
        for p, t in generated_files.items()
        if p.startswith(f"{GRAFANA_ALERTING_DIR}/")
        and not p.endswith(("/contact-points.yaml", "/policies.yaml"))
    }
    assert rule_files and {k: data[k] for k in rule_files} == rule_files
    assert data["policies.yaml"] == generated_files[f"{GRAFANA_ALERTING_DIR}/policies.yaml"]
    (point,) = yaml.safe_load(data["contact-points.yaml"])["contactPoints"]
    url = point["receivers"][0]["settings"]["url"]
    assert url == f"http://{KUBERNETES.chart.service('alertmanager', 9093)}"
    assert url == "http://kube-prometheus-stack-alertmanager.monitoring:9093"


def test_deployment_runs_three_hardened_replicas_with_probes(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = objects[("Deployment", "bike-api")]
    assert deployment["spec"]["replicas"] == 3
    (container,) = _containers(deployment)
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    (port,) = container["ports"]
    (service,) = _of_kind(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("kind", ["Deployment", "Job", "CronJob"])
def test_every_workload_is_non_root_read_only_and_sized(
    objects: dict[tuple[str, str], dict[str, Any]], kind: str
) -> None:
    for workload in _of_kind(objects, kind):
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in _containers(workload):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            for side in ("requests", "limits"):
                assert set(container["resources"][side]) == {"cpu", "memory"}, side
            mounted = {m["name"] for m in container["volumeMounts"]}
            assert mounted == {v["name"] for v in pod["volumes"]}


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data["services"]


_SECRET_FROM_ENV = re.compile(r"^(?P<prefix>[^$]*)\$\{(?P<name>[A-Z_]+):\?[^}]*\}$")
_DEFAULTED = re.compile(r"^\$\{[A-Z_]+:-(?P<default>[^}]*)\}$")


def _assert_env_is_compose(container: dict[str, Any], service: dict[str, Any]) -> None:
    """Every variable compose gives a value is set alike: a literal as is, `${VAR:-default}`
    as its default, `${SECRET:?...}` from the Secret key of that name; those compose passes
    through only when set stay unset."""
    env = {e["name"]: e for e in container["env"]}
    expected = {k: v for k, v in service["environment"].items() if v is not None}
    assert set(expected) <= set(env), sorted(set(expected) - set(env))
    for name, value in expected.items():
        match = _SECRET_FROM_ENV.match(str(value))
        defaulted = _DEFAULTED.match(str(value))
        if defaulted is not None:
            assert env[name].get("value") == defaulted["default"], name
        elif match is None:
            assert env[name].get("value") == str(value), name
        elif match["prefix"]:  # `admin:${PREFECT_ADMIN_PASSWORD:?...}`
            assert env[name]["value"] == f"{match['prefix']}$({match['name']})", name
            referenced = env[match["name"]]["valueFrom"]["secretKeyRef"]
            assert referenced == {"name": KUBERNETES.secret_name, "key": match["name"]}
        else:
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": KUBERNETES.secret_name, "key": match["name"]}, name
    names = [e["name"] for e in container["env"]]
    assert names == sorted(names)  # a $(VAR) reference comes after VAR
    extra = set(env) - set(service["environment"]) - {"PREFECT_ADMIN_PASSWORD"}
    assert extra <= {"ALLOWED_HOSTS"}, extra  # pod IPs and the Service's name (see generator)


def test_api_environment_is_the_compose_services(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    (container,) = _containers(objects[("Deployment", "bike-api")])
    _assert_env_is_compose(container, _compose()["bike-api"])
    assert Settings(allowed_hosts="*").hosts == ["*"]  # the API's wildcard


def test_training_job_is_the_compose_one_shot(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    train = _compose()["train"]
    (container,) = _containers(objects[("Job", "bike-api-train")])
    assert container["command"] == train["command"]
    assert container["command"] == ["python", "-m", "api.train", "--unless-champion"]
    _assert_env_is_compose(container, train)


def test_monitor_cron_job_runs_the_drift_report(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    cron = objects[("CronJob", "bike-api-monitor")]
    (container,) = _containers(cron)
    makefile = (ROOT / "Makefile").read_text()
    assert "$(PY) -m api.evaluation.monitor" in makefile  # what `make drift-report` runs
    assert container["command"] == ["python", "-m", "api.evaluation.monitor"]
    assert cron["spec"]["schedule"] == KUBERNETES.monitor_schedule
    # A decision or a usage error is final (no retry); a failure to read the data is retried.
    (rule,) = cron["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [2, monitor.EXIT_RETRAINING]
    assert monitor.EXIT_ERROR not in rule["onExitCodes"]["values"]


def test_no_secret_value_is_written_anywhere(generated_files: dict[str, str]) -> None:
    """Secrets are read from the Secret by reference: no Secret object, no literal value."""
    texts = {p: t for p, t in generated_files.items() if p.startswith(f"{kubernetes.DIR}/")}
    for path, text in texts.items():
        for document in yaml.safe_load_all(text):
            assert not (isinstance(document, dict) and document.get("kind") == "Secret"), path
    secret_names = set(kubernetes.SECRET_KEYS) | {"ALERT_WEBHOOK_TOKEN"}
    for path, text in texts.items():
        for name in secret_names:
            assert not re.search(rf"name: {name}\n\s+value:", text), (path, name)
        # Alertmanager's `credentials` only ever as a reference to a Secret's key.
        for match in re.finditer(r"^(?P<indent> *)credentials:(?P<inline>.*)$", text, re.M):
            assert not match["inline"].strip(), (path, "a literal credential")
            block = text[match.end() :].splitlines()[1:3]
            keys = sorted(line.strip().split(":")[0] for line in block)
            assert keys == ["key", "name"], (path, block)


def test_service_monitor_is_selected_by_the_chart_and_keeps_the_api_labels(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    service_monitor = objects[("ServiceMonitor", "bike-api")]
    assert service_monitor["metadata"]["labels"]["release"] == KUBERNETES.chart.release
    (service,) = _of_kind(objects, "Service")
    selector = service_monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    # job="bike-api", what every rule and panel selects: from the Service's label.
    assert service["metadata"]["labels"][service_monitor["spec"]["jobLabel"]] == "bike-api"
    (endpoint,) = service_monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["interval"] == KUBERNETES.profile.scrape_interval
    # The API's `endpoint` label (the route) must not become `exported_endpoint`.
    (drop,) = endpoint["relabelings"]
    assert drop["action"] == "labeldrop" and re.fullmatch(drop["regex"], "endpoint")


def test_alertmanager_config_routes_retraining_alerts_to_the_webhook(
    generated_files: dict[str, str], objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    config = objects[("AlertmanagerConfig", "bike-api-retraining")]["spec"]
    (matcher,) = config["route"]["matchers"]
    assert matcher == {"name": "retraining_reason", "matchType": "=~", "value": ".+"}
    labelled = [
        rule["alert"]
        for rule_object in _of_kind(objects, "PrometheusRule")
        for group in rule_object["spec"]["groups"]
        for rule in group["rules"]
        if "retraining_reason" in rule.get("labels", {})
    ]
    assert "BikeDataDriftDetected" in labelled
    (receiver,) = config["receivers"]
    assert receiver["name"] == config["route"]["receiver"]
    (webhook,) = receiver["webhookConfigs"]
    assert webhook["url"] == "http://bike-api.bikewatch.svc:8080/alerts"
    authorization = webhook["httpConfig"]["authorization"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials"] == {
        "name": KUBERNETES.secret_name,
        "key": "ALERT_WEBHOOK_TOKEN",
    }
    compose = yaml.safe_load(generated_files["alertmanager/alertmanager.yml"])
    assert len(config["inhibitRules"]) == len(compose["inhibit_rules"])


def test_every_object_fits_kubectl_applys_annotation(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for key, obj in objects.items():
        assert len(json.dumps(obj, separators=(",", ":"))) < LAST_APPLIED_LIMIT, key


def test_every_object_is_in_the_namespace_it_names(
    objects: dict[tuple[str, str], dict[str, Any]],
) -> None:
    for (kind, name), obj in objects.items():
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == KUBERNETES.namespace, (kind, name)
    namespace = objects[("Namespace", KUBERNETES.namespace)]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_chart_values_name_what_the_objects_carry(
    generated_files: dict[str, str], objects: dict[tuple[str, str], dict[str, Any]]
) -> None:
    values = yaml.safe_load(generated_files[f"{kubernetes.DIR}/kube-prometheus-stack-values.yaml"])
    sidecar = values["grafana"]["sidecar"]
    alert_label, alert_value = kubernetes.GRAFANA_ALERT_LABEL
    assert (sidecar["alerts"]["label"], sidecar["alerts"]["labelValue"]) == (
        alert_label,
        alert_value,
    )
    assert sidecar["dashboards"]["folderAnnotation"] == kubernetes.GRAFANA_FOLDER_ANNOTATION
    dashboard = json.loads(
        objects[("ConfigMap", "bikewatch-dashboard-api-performance")]["data"][
            "api_performance.json"
        ]
    )
    uids = {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p}
    assert uids == {sidecar["datasources"]["uid"]}


def test_staleness_check_covers_the_kubernetes_folder(
    generated_files: dict[str, str], tmp_path: Path
) -> None:
    generate.write(generated_files, tmp_path)
    path = tmp_path / kubernetes.DIR / "deployment-bike-api.yaml"
    path.write_text(path.read_text().replace("replicas: 3", "replicas: 2"))
    (tmp_path / kubernetes.DIR / "left-over.yaml").write_text("kind: ConfigMap\n")
    problems = [p.splitlines()[0] for p in generate.check(generated_files, tmp_path)]
    assert problems == [
        "stale: generated/kubernetes/deployment-bike-api.yaml",
        "extra (no source writes it): generated/kubernetes/left-over.yaml",
    ]
