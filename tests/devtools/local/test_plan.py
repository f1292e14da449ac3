"""The native stack's plan: configs compiled for a profile, the services and their addresses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from authoring import config
from authoring.profiles import LOCAL, Profile
from devtools import secrets
from devtools.local import plan as local
from devtools.local.processes import Service, StackError


def test_missing_debian_packages_are_named_with_the_command_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError) as err:
        local.check_binaries()
    message = str(err.value)
    for package in local.DEBIAN_BINARIES:
        assert package in message
    assert "make system-deps" in message and "--no-install-recommends" in message


def test_configs_are_compiled_for_the_profile_with_the_generated_rules(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:1001",
        node_exporter="127.0.0.1:1002",
        prometheus="127.0.0.1:1003",
        alertmanager="127.0.0.1:1004",
        grafana="127.0.0.1:1005",
        scrape_interval="1s",
        evaluation_interval="2s",
    )
    rules = tmp_path / "rules"
    prometheus_path, alertmanager_path = local.render_configs(profile, tmp_path / "run", rules)
    prometheus = yaml.safe_load(prometheus_path.read_text())
    assert prometheus["global"] == {"scrape_interval": "1s", "evaluation_interval": "2s"}
    assert prometheus["rule_files"] == [f"{rules.resolve()}/*.yml"]
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0]
        for job in prometheus["scrape_configs"]
    }
    assert targets == profile.targets()
    alertmanager = yaml.safe_load(alertmanager_path.read_text())
    hooks = [h for r in alertmanager["receivers"] for h in r["webhook_configs"]]
    assert [h["url"] for h in hooks] == ["http://127.0.0.1:1001/alerts"]
    # The stack's own token, drawn into its run folder, by file: never in the config itself.
    token_file = Path(hooks[0]["http_config"]["authorization"]["credentials_file"])
    assert token_file == tmp_path / "run" / "secrets" / "alert-webhook-token"
    assert token_file.read_text().strip() not in alertmanager_path.read_text()
    assert token_file.stat().st_mode & 0o077 == 0


def test_the_service_plan_binds_loopback_and_turns_clustering_off(tmp_path: Path) -> None:
    paths = (Path("m"), Path("r"), Path("s"), Path("st"), Path("ml"))
    keys = {
        "MLFLOW_ADMIN_PASSWORD": "pw",
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "csrf",
        "PREFECT_ADMIN_PASSWORD": "ppw",
    }
    services = local.plan(LOCAL, tmp_path, Path("p.yml"), Path("a.yml"), *paths, keys)
    assert [s.name for s in services] == [
        "mlflow",
        "prefect-server",
        "retrain-worker",
        "node-exporter",
        "alertmanager",
        "bike-api",
        "prometheus",
    ]
    for service in services:
        assert service.address.startswith("127.0.0.1:")
    alertmanager = next(s for s in services if s.name == "alertmanager")
    assert "--cluster.listen-address=" in alertmanager.argv
    api = next(s for s in services if s.name == "bike-api")
    assert api.ready_path == "/ready" and api.env["MODEL_DIR"] == "m"
    assert api.env["STATE_DIR"] == "st"
    assert api.env["ALERT_WEBHOOK_TOKEN_FILE"] == str(Path("s") / "alert-webhook-token")
    assert api.env["EVALUATE_API_KEY_FILE"] == str(Path("s") / "evaluate-api-key")
    assert "api.train" not in api.argv
    # The API follows the champion on the `mlflow server` of the embedded store.
    mlflow = services[0]
    assert api.env["MODEL_SOURCE"] == "registry"
    assert api.env["MLFLOW_TRACKING_URI"] == f"http://{LOCAL.mlflow}" == "http://127.0.0.1:5000"
    assert mlflow.ready_path == "/health"
    flags = dict(zip(mlflow.argv[6::2], mlflow.argv[7::2], strict=False))
    assert flags["--backend-store-uri"] == f"sqlite:///{Path('ml') / 'mlflow.db'}"
    assert "--serve-artifacts" in mlflow.argv
    assert mlflow.env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    # basic-auth: the server bootstraps its admin with .env's password; the API logs in with it.
    assert mlflow.argv[4:6] == ("--app-name", "basic-auth")
    assert mlflow.env["MLFLOW_AUTH_ADMIN_PASSWORD"] == "pw" == api.env["MLFLOW_TRACKING_PASSWORD"]
    assert mlflow.env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == "csrf"
    assert mlflow.env["MLFLOW_AUTH_CONFIG_PATH"] == str(tmp_path / "mlflow-auth.ini")
    assert api.env["MLFLOW_TRACKING_USERNAME"] == "admin"
    # Prefect: the server wants basic auth; the API and the worker send it. The worker's flow
    # runs reach MLflow as the API does, and keep their metrics in the shared state folder.
    prefect = next(s for s in services if s.name == "prefect-server")
    worker = next(s for s in services if s.name == "retrain-worker")
    assert prefect.env["PREFECT_SERVER_API_AUTH_STRING"] == "admin:ppw"
    assert prefect.address == LOCAL.prefect and prefect.ready_path == "/api/health"
    for client in (api, worker):
        assert client.env["PREFECT_API_URL"] == f"http://{LOCAL.prefect}/api"
        assert client.env["PREFECT_API_AUTH_STRING"] == "admin:ppw"
    assert worker.env["MLFLOW_TRACKING_PASSWORD"] == "pw"
    assert worker.env["PROMETHEUS_MULTIPROC_DIR"] == str(Path("st") / "retrain-metrics")
    assert worker.argv[1:3] == ("-m", "flows.worker") and worker.address == LOCAL.retrain_worker


KEYS = {
    "MLFLOW_ADMIN_PASSWORD": "pw",
    "MLFLOW_FLASK_SERVER_SECRET_KEY": "csrf",
    "PREFECT_ADMIN_PASSWORD": "ppw",
}
REPLICAS = ("127.0.0.1:1101", "127.0.0.1:1102", "127.0.0.1:1103")
THREE = Profile(
    name="replicas",
    api=REPLICAS[0],
    node_exporter="127.0.0.1:1002",
    prometheus="127.0.0.1:1003",
    alertmanager="127.0.0.1:1004",
    grafana="127.0.0.1:1005",
    mlflow="127.0.0.1:1006",
    retrain_worker="127.0.0.1:1007",
    prefect="127.0.0.1:1008",
    api_replicas=REPLICAS,
)


def _plan(
    profile: Profile,
    tmp_path: Path,
    api_settings: Mapping[str, str] | None = None,
    replica_settings: Sequence[Mapping[str, str]] = (),
) -> list[Service]:
    paths = (Path("m"), Path("r"), Path("s"), Path("st"), Path("ml"))
    return local.plan(
        profile,
        tmp_path,
        Path("p.yml"),
        Path("a.yml"),
        *paths,
        KEYS,
        api_settings=api_settings,
        replica_settings=replica_settings,
    )


def test_each_replica_is_a_service_on_its_address_with_its_own_folders(tmp_path: Path) -> None:
    services = _plan(
        THREE,
        tmp_path,
        api_settings={"LIVE_DRIFT_INTERVAL_SECONDS": "1"},
        replica_settings=({}, {"MODEL_POLL_SECONDS": "7"}),
    )
    apis = [s for s in services if s.name.startswith("bike-api")]
    assert [s.name for s in apis] == local.api_service_names(THREE)
    assert [s.name for s in apis] == ["bike-api-1", "bike-api-2", "bike-api-3"]
    assert [s.address for s in apis] == list(REPLICAS)
    for n, api in enumerate(apis, 1):
        assert api.argv[-5:] == (
            "--host",
            "127.0.0.1",
            "--port",
            REPLICAS[n - 1][-4:],
            "--no-access-log",
        )
        # No shared disk, as pods: each replica its state, model folder and reports.
        assert api.env["STATE_DIR"] == str(Path("st") / f"replica-{n}")
        assert api.env["MODEL_DIR"] == str(Path("m") / f"replica-{n}")
        assert api.env["REPORTS_DIR"] == str(Path("r") / f"replica-{n}")
        # The rest is the same for all, `api_settings` included.
        assert api.env["LIVE_DRIFT_INTERVAL_SECONDS"] == "1"
        assert api.env["PREFECT_API_URL"] == f"http://{THREE.prefect}/api"
        assert api.env["ALERT_WEBHOOK_TOKEN_FILE"] == str(Path("s") / "alert-webhook-token")
    # `replica_settings` index-aligned, optional: the second replica alone polls every 7 s.
    assert [api.env.get("MODEL_POLL_SECONDS") for api in apis] == [None, "7", None]
    # Scrape targets start before Prometheus: every replica sits between Alertmanager and it.
    names = [s.name for s in services]
    assert names.index("alertmanager") < names.index("bike-api-1")
    assert names.index("bike-api-3") + 1 == names.index("prometheus") == len(names) - 1
    # The retrain worker's state stays the stack's own, not a replica's.
    worker = next(s for s in services if s.name == "retrain-worker")
    assert worker.env["STATE_DIR"] == "st"


def test_more_replica_settings_than_replicas_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="4 replica settings for 3 API replicas"):
        _plan(THREE, tmp_path, replica_settings=({},) * 4)


def test_the_first_replica_is_the_api_address(tmp_path: Path) -> None:
    assert THREE.api_targets == REPLICAS and LOCAL.api_targets == (LOCAL.api,)
    with pytest.raises(ValueError, match="must be `api`"):
        replace(THREE, api="127.0.0.1:1199")


def test_prometheus_scrapes_every_replica_and_alertmanager_calls_the_first(
    tmp_path: Path,
) -> None:
    prometheus_path, alertmanager_path = local.render_configs(THREE, tmp_path / "run")
    prometheus = yaml.safe_load(prometheus_path.read_text())
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]
    }
    assert targets.pop(config.API_JOB) == list(REPLICAS)
    assert targets == {
        job: [target] for job, target in THREE.targets().items() if job != config.API_JOB
    }
    alertmanager = yaml.safe_load(alertmanager_path.read_text())
    hooks = [h for r in alertmanager["receivers"] for h in r["webhook_configs"]]
    assert [h["url"] for h in hooks] == [f"http://{REPLICAS[0]}/alerts"]


def test_without_retraining_neither_prefect_nor_the_worker_runs_or_is_scraped(
    tmp_path: Path,
) -> None:
    light = local.without_retraining(THREE)
    names = [s.name for s in _plan(light, tmp_path)]
    assert "prefect-server" not in names and "retrain-worker" not in names
    assert names == [
        "mlflow",
        "node-exporter",
        "alertmanager",
        *local.api_service_names(THREE),
        "prometheus",
    ]
    for api in _plan(light, tmp_path):
        if api.name.startswith("bike-api"):
            # No Prefect: the API records its triggers "unconfigured".
            assert "PREFECT_API_URL" not in api.env and "PREFECT_API_AUTH_STRING" not in api.env
    prometheus_path, _ = local.render_configs(light, tmp_path / "run")
    jobs = [
        job["job_name"] for job in yaml.safe_load(prometheus_path.read_text())["scrape_configs"]
    ]
    assert config.RETRAIN_WORKER_JOB not in jobs
    assert jobs == list(light.targets()) and len(jobs) == len(THREE.targets()) - 1


def test_the_mlflow_auth_config_holds_no_secret(tmp_path: Path) -> None:
    path = local.write_mlflow_auth_config(tmp_path / "run", tmp_path / "mlruns")
    text = path.read_text()
    assert f"database_uri = sqlite:///{tmp_path / 'mlruns' / 'basic_auth.db'}" in text
    assert "admin_username = admin" in text and "password" not in text


def test_the_committed_local_alertmanager_config_reads_the_token_make_local_writes() -> None:
    # Relative credentials files resolve against alertmanager.yml's folder.
    config = yaml.safe_load(local.LOCAL_ALERTMANAGER_CONFIG.read_text())
    hooks = [h for r in config["receivers"] for h in r["webhook_configs"]]
    relative = hooks[0]["http_config"]["authorization"]["credentials_file"]
    resolved = (local.LOCAL_ALERTMANAGER_CONFIG.parent / relative).resolve()
    assert resolved == secrets.DEFAULT_SECRETS_DIR / secrets.SECRET_FILES["ALERT_WEBHOOK_TOKEN"]


def test_grafana_provisioning_follows_the_profile(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:2001",
        node_exporter="127.0.0.1:2002",
        prometheus="127.0.0.1:2003",
        alertmanager="127.0.0.1:2004",
        grafana="127.0.0.1:2005",
    )
    out = local.render_grafana_provisioning(profile, tmp_path)
    kinds = {p.parent.name for p in out.rglob("*.y*ml")}
    assert kinds == {"datasources", "dashboards", "alerting"}
    datasources = [
        d
        for f in (out / "datasources").glob("*.y*ml")
        for d in yaml.safe_load(f.read_text())["datasources"]
    ]
    assert {d["url"] for d in datasources} == {"http://127.0.0.1:2003", "http://127.0.0.1:2004"}
    providers = [
        p
        for f in (out / "dashboards").glob("*.y*ml")
        for p in yaml.safe_load(f.read_text())["providers"]
    ]
    assert [p["options"]["path"] for p in providers] == [str(local.GRAFANA_DASHBOARDS)]
    contact_urls = {
        r["settings"]["url"]
        for f in (out / "alerting").glob("*.y*ml")
        for point in yaml.safe_load(f.read_text()).get("contactPoints", [])
        for r in point["receivers"]
    }
    assert contact_urls <= {"http://127.0.0.1:2004"}


def test_grafana_is_skipped_without_a_binary_and_needs_a_password_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    no_env_file = tmp_path / ".env"
    assert local.grafana_service(LOCAL, tmp_path, no_env_file) is None
    fake = tmp_path / "grafana"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv("GRAFANA_ADMIN_PASSWORD", raising=False)
    with pytest.raises(StackError, match="GRAFANA_ADMIN_PASSWORD"):
        local.grafana_service(LOCAL, tmp_path, no_env_file)
    # With the .env `make all` writes, Grafana gets its password and its secret key from it.
    secrets.ensure_env_file(no_env_file)
    stored = secrets.read_values(no_env_file)
    for home in local.GRAFANA_HOMES:
        if Path(home, "conf", "defaults.ini").exists():
            break
    else:
        monkeypatch.setattr(local, "GRAFANA_HOMES", (str(_fake_home(tmp_path)),))
    service = local.grafana_service(LOCAL, tmp_path / "run", no_env_file)
    assert service is not None
    assert service.env["GF_SECURITY_ADMIN_PASSWORD"] == stored["GRAFANA_ADMIN_PASSWORD"]
    assert service.env["GF_SECURITY_SECRET_KEY"] == stored["GRAFANA_SECRET_KEY"]


def _fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "grafana-home"
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "defaults.ini").write_text("")
    return home
