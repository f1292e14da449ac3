"""The native stack's plan: which processes, with which configs, in which order.

Configs come from the generator (the same functions that write `generated/`), so the native
stack (`make local`) and the end-to-end test never run a config edited by hand. Grafana joins
when a `grafana` binary is on the PATH. A profile with several API replicas gets one uvicorn
per replica, each with its own disk, as pods would; one without a retrain worker runs neither
it nor Prefect's server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import yaml

from authoring import config
from authoring.profiles import COMPOSE, LOCAL, Profile
from devtools import secrets
from devtools.local.processes import (
    READY_TIMEOUT_SECONDS,
    ROOT,
    Service,
    Stack,
    StackError,
    port_in_use,
    split_address,
)
from generator.generate import stack_config_files
from generator.sources import discover

__all__ = [
    "DEBIAN_BINARIES",
    "DEFAULT_MODEL_DIR",
    "DEFAULT_RUN_DIR",
    "RULES_DIR",
    "api_service_names",
    "check_binaries",
    "grafana_service",
    "plan",
    "prefect_service",
    "prepare_stack",
    "render_configs",
    "render_grafana_provisioning",
    "retrain_worker_service",
    "secret_files",
    "start_local",
    "start_stack",
    "train_unless_champion",
    "without_retraining",
    "write_mlflow_auth_config",
]

GENERATED = ROOT / "generated"
RULES_DIR = GENERATED / "prometheus" / "rules"
LOCAL_PROMETHEUS_CONFIG = GENERATED / "local" / "prometheus" / "prometheus.yml"
LOCAL_ALERTMANAGER_CONFIG = GENERATED / "local" / "alertmanager" / "alertmanager.yml"
DEFAULT_RUN_DIR = ROOT / "run"
DEFAULT_MODEL_DIR = ROOT / "artifacts"
# `make local` keeps the API workers' shared state (decision log, evaluation lock) here.
DEFAULT_STATE_DIR = ROOT / "state"
# The embedded MLflow store `make train` and `make api` use (Settings' default): `make local`
# serves it with `mlflow server`.
DEFAULT_MLRUNS_DIR = ROOT / "mlruns"
# MLflow 3's server starts a job runner and seven task consumers (GenAI evaluation jobs) that
# nothing here uses: each is a Python process holding MLflow (~100 MB).
MLFLOW_SERVER_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
# MLflow's basic-auth: one user, the admin, whose password is .env's MLFLOW_ADMIN_PASSWORD.
MLFLOW_ADMIN = "admin"
MLFLOW_AUTH_CONFIG = "mlflow-auth.ini"
# The flows' environment (`make flows-env`): Prefect's server and the retrain worker run there.
FLOWS_PYTHON = ROOT / ".venv-flows" / "bin" / "python"
# Prefect's basic auth: one user, the admin, whose password is .env's PREFECT_ADMIN_PASSWORD.
PREFECT_ADMIN = "admin"
# Prefect's server as the native stack runs it: its SQLite database under run/prefect, no
# telemetry to Prefect's servers, and a minute's wait on SQLite's lock instead of 10 s (a busy
# machine otherwise gets 503s from it: seen on CI's two cores).
PREFECT_SERVER_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_DATABASE_TIMEOUT": "60",
}

# Debian package -> the binary it installs (what `make system-deps` installs).
DEBIAN_BINARIES = {
    "prometheus": "prometheus",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-alertmanager": "prometheus-alertmanager",
}
GRAFANA_BINARIES = ("grafana", "grafana-server")
GRAFANA_PROVISIONING = GENERATED / "grafana" / "provisioning"
GRAFANA_DASHBOARDS = GENERATED / "grafana" / "dashboards"
# Where Grafana's packages put its static files (homepath), first match wins.
GRAFANA_HOMES = ("/usr/share/grafana", "/usr/local/share/grafana", "/opt/grafana")


def missing_packages() -> list[str]:
    """Debian packages whose binary is not on the PATH."""
    return [pkg for pkg, binary in DEBIAN_BINARIES.items() if shutil.which(binary) is None]


def grafana_binary() -> str | None:
    for name in GRAFANA_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def secret_files(run_dir: Path) -> dict[str, Path]:
    """A stack's own secrets, drawn at random into `run_dir/.env` (0600) and written to
    `run_dir/secrets/` as files: .env key (ALERT_WEBHOOK_TOKEN, ...) -> file."""
    run_dir.mkdir(parents=True, exist_ok=True)
    env_file = run_dir / ".env"
    secrets.ensure_env_file(env_file)
    return secrets.write_secret_files(env_file, run_dir / "secrets")


def render_configs(
    profile: Profile, run_dir: Path, rules_dir: Path = RULES_DIR
) -> tuple[Path, Path]:
    """Compile Prometheus's and Alertmanager's configs for `profile` into `run_dir/config`.

    The same compiler functions write generated/ for compose and for `make local`; the rule files
    are referenced in place (absolute path), so the run folder holds no copy to drift. The
    webhook's token is read from `run_dir/secrets` (see `secret_files`).
    """
    token = secret_files(run_dir)["ALERT_WEBHOOK_TOKEN"]
    profile = replace(
        profile, rules_dir=str(rules_dir.resolve()), webhook_credentials_file=str(token)
    )
    config_dir = run_dir / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    files = stack_config_files(profile, discover().groups)
    prometheus = config_dir / "prometheus.yml"
    prometheus.write_text(files["prometheus/prometheus.yml"], encoding="utf-8")
    alertmanager = config_dir / "alertmanager.yml"
    alertmanager.write_text(files["alertmanager/alertmanager.yml"], encoding="utf-8")
    return prometheus, alertmanager


def render_grafana_provisioning(profile: Profile, run_dir: Path) -> Path:
    """Grafana's provisioning for `profile` in `run_dir/grafana/provisioning`.

    The generated files are written for compose (service names, the dashboards mounted at
    /var/lib/grafana/dashboards). Loaded as YAML, only the addresses change: each datasource
    points at the profile's service and the dashboard provider at generated/grafana/dashboards.
    """
    moved = {
        f"http://{getattr(COMPOSE, name)}": f"http://{getattr(profile, name)}"
        for name in ("prometheus", "alertmanager", "api")
    }
    out = run_dir / "grafana" / "provisioning"
    for source in sorted(GRAFANA_PROVISIONING.rglob("*.y*ml")):
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
        kind = source.parent.name
        if kind == "datasources":
            for datasource in data.get("datasources", []):
                datasource["url"] = moved.get(datasource.get("url", ""), datasource.get("url"))
        elif kind == "dashboards":
            for provider in data.get("providers", []):
                provider["options"]["path"] = str(GRAFANA_DASHBOARDS)
        elif kind == "alerting":
            for point in data.get("contactPoints", []):
                for receiver in point.get("receivers", []):
                    url = receiver.get("settings", {}).get("url", "")
                    if url in moved:
                        receiver["settings"]["url"] = moved[url]
        target = out / source.relative_to(GRAFANA_PROVISIONING)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")
    return out


def grafana_service(
    profile: Profile, run_dir: Path, env_file: Path = secrets.DEFAULT_ENV_FILE
) -> Service | None:
    """Grafana on the profile's address when a binary is installed, else None (and why).
    Its admin password and secret key come from the environment, else from `env_file`."""
    binary = grafana_binary()
    if binary is None:
        return None
    stored = secrets.read_values(env_file) if env_file.exists() else {}
    password = os.environ.get("GRAFANA_ADMIN_PASSWORD") or stored.get("GRAFANA_ADMIN_PASSWORD")
    secret_key = os.environ.get("GRAFANA_SECRET_KEY") or stored.get("GRAFANA_SECRET_KEY")
    if not password or not secret_key:
        raise StackError(
            f"Grafana found: GRAFANA_ADMIN_PASSWORD and GRAFANA_SECRET_KEY are needed (in "
            f"{env_file}, which `python -m devtools.secrets` creates, or the environment)"
        )
    home = next((h for h in GRAFANA_HOMES if Path(h, "conf", "defaults.ini").exists()), None)
    if home is None:
        raise StackError(f"Grafana found at {binary} but no homepath in {', '.join(GRAFANA_HOMES)}")
    host, port = split_address(profile.grafana)
    argv = (binary, "server") if Path(binary).name == "grafana" else (binary,)
    return Service(
        "grafana",
        (*argv, f"--homepath={home}"),
        profile.grafana,
        "/api/health",
        {
            "GF_PATHS_PROVISIONING": str(render_grafana_provisioning(profile, run_dir)),
            "GF_PATHS_DATA": str(run_dir / "grafana-data"),
            "GF_PATHS_LOGS": str(run_dir / "logs"),
            "GF_SERVER_HTTP_ADDR": host,
            "GF_SERVER_HTTP_PORT": str(port),
            "GF_SECURITY_ADMIN_PASSWORD": password,
            "GF_SECURITY_SECRET_KEY": secret_key,
            "GF_AUTH_ANONYMOUS_ENABLED": os.environ.get("GRAFANA_ANONYMOUS_ENABLED", "false"),
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        },
    )


def api_service_names(profile: Profile) -> list[str]:
    """The API's service names, one per replica: `bike-api` alone, else `bike-api-1`, ..."""
    replicas = profile.api_targets
    if len(replicas) == 1:
        return [config.API_JOB]
    return [f"{config.API_JOB}-{i}" for i in range(1, len(replicas) + 1)]


def plan(
    profile: Profile,
    run_dir: Path,
    prometheus_config: Path,
    alertmanager_config: Path,
    model_dir: Path,
    reports_dir: Path,
    secrets_dir: Path,
    state_dir: Path,
    mlruns_dir: Path,
    stack_secrets: Mapping[str, str],
    model_poll_seconds: float | None = None,
    api_settings: Mapping[str, str] | None = None,
    replica_settings: Sequence[Mapping[str, str]] = (),
) -> list[Service]:
    """The services in start order: MLflow first (the API loads the champion from it), then
    Prefect's server and the retrain worker (the API starts retrain flow runs there), scrape
    targets next, so Prometheus finds them up.

    The API reads its webhook token and evaluation key from the files in `secrets_dir` (the
    token Alertmanager's config points at), shares its workers' state in `state_dir` and follows
    `bike-demand@champion` on the `mlflow server` that serves the SQLite store in `mlruns_dir`,
    behind MLflow's basic-auth (its config at `run_dir/mlflow-auth.ini`, see
    `write_mlflow_auth_config`; the admin's password and the CSRF key from `stack_secrets`,
    .env's values), and starts retrain flow runs on Prefect's server (its admin's password from
    `stack_secrets` too).

    One uvicorn per address of `profile.api_targets` (`api_service_names`). Several replicas
    share nothing on disk, as pods would not: replica N keeps its state, model folder and
    reports in `replica-N` under `state_dir`, `model_dir` and `reports_dir`; one replica uses
    the folders themselves. Each gets `api_settings`, then `replica_settings[i]` (optional,
    index-aligned) on top.

    Prefect's server and the retrain worker run only when the profile has a retrain worker
    (`start_stack(retraining=False)` gives it none): without them the API gets no
    PREFECT_API_URL, and records its triggers "unconfigured".
    """
    mlflow_host, mlflow_port = split_address(profile.mlflow)
    retraining = bool(profile.retrain_worker)
    api_env = {
        "MODEL_SOURCE": "registry",
        "MLFLOW_TRACKING_URI": f"http://{profile.mlflow}",
        "MLFLOW_TRACKING_USERNAME": MLFLOW_ADMIN,
        "MLFLOW_TRACKING_PASSWORD": stack_secrets["MLFLOW_ADMIN_PASSWORD"],
        **{f"{key}_FILE": str(secrets_dir / name) for key, name in secrets.SECRET_FILES.items()},
    }
    if model_poll_seconds is not None:
        api_env["MODEL_POLL_SECONDS"] = str(model_poll_seconds)
    # Other settings of the API (tests: a faster live-drift scoring).
    api_env.update(api_settings or {})
    prefect_auth = f"{PREFECT_ADMIN}:{stack_secrets['PREFECT_ADMIN_PASSWORD']}"
    if retraining:
        api_env["PREFECT_API_URL"] = f"http://{profile.prefect}/api"
        api_env["PREFECT_API_AUTH_STRING"] = prefect_auth
    mlflow = Service(
        "mlflow",
        (
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--app-name",
            "basic-auth",
            "--host",
            mlflow_host,
            "--port",
            str(mlflow_port),
            "--backend-store-uri",
            embedded_store(mlruns_dir),
            "--serve-artifacts",
            "--artifacts-destination",
            str(mlruns_dir / "artifacts"),
            "--workers",
            "1",
        ),
        profile.mlflow,
        "/health",
        {
            **MLFLOW_SERVER_ENV,
            "MLFLOW_AUTH_CONFIG_PATH": str(run_dir / MLFLOW_AUTH_CONFIG),
            "MLFLOW_AUTH_ADMIN_PASSWORD": stack_secrets["MLFLOW_ADMIN_PASSWORD"],
            "MLFLOW_FLASK_SERVER_SECRET_KEY": stack_secrets["MLFLOW_FLASK_SERVER_SECRET_KEY"],
        },
    )
    worker_env = {
        key: api_env[key]
        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    }
    names = api_service_names(profile)
    if len(replica_settings) > len(names):
        raise StackError(f"{len(replica_settings)} replica settings for {len(names)} API replicas")
    apis = []
    for i, (name, address) in enumerate(zip(names, profile.api_targets, strict=True)):
        # Replicas share no disk: each its own folders, as each pod its own volume.
        own = Path() if len(names) == 1 else Path(f"replica-{i + 1}")
        env = {
            "MODEL_DIR": str(model_dir / own),
            "REPORTS_DIR": str(reports_dir / own),
            "STATE_DIR": str(state_dir / own),
            **api_env,
            **(replica_settings[i] if i < len(replica_settings) else {}),
        }
        apis.append(_api_service(name, address, env))
    retrain = (
        [
            prefect_service(profile, run_dir, prefect_auth),
            retrain_worker_service(profile, run_dir, prefect_auth, state_dir, worker_env),
        ]
        if retraining
        else []
    )
    return [
        mlflow,
        *retrain,
        Service(
            "node-exporter",
            ("prometheus-node-exporter", f"--web.listen-address={profile.node_exporter}"),
            profile.node_exporter,
            "/metrics",
        ),
        Service(
            "alertmanager",
            (
                "prometheus-alertmanager",
                f"--config.file={alertmanager_config}",
                f"--storage.path={run_dir / 'alertmanager-data'}",
                f"--web.listen-address={profile.alertmanager}",
                # One instance: clustering off, so it opens no gossip port.
                "--cluster.listen-address=",
            ),
            profile.alertmanager,
            "/-/ready",
        ),
        *apis,
        Service(
            "prometheus",
            (
                "prometheus",
                f"--config.file={prometheus_config}",
                f"--storage.tsdb.path={run_dir / 'prometheus-data'}",
                f"--web.listen-address={profile.prometheus}",
            ),
            profile.prometheus,
            "/-/ready",
        ),
    ]


def without_retraining(profile: Profile) -> Profile:
    """`profile` with no retrain worker and no Prefect server: neither runs nor is scraped."""
    return replace(profile, retrain_worker="", prefect="")


def _api_service(name: str, address: str, env: Mapping[str, str]) -> Service:
    """One API replica under uvicorn on `address`."""
    host, port = split_address(address)
    return Service(
        name,
        (
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            host,
            "--port",
            str(port),
            # Requests are counted in metrics; the log keeps the app's own messages readable.
            "--no-access-log",
        ),
        address,
        "/ready",
        env,
    )


def prefect_service(
    profile: Profile, run_dir: Path, auth_string: str, *, ui: bool = True
) -> Service:
    """`prefect server start` (the flows' environment) behind basic auth, its database in
    `run_dir/prefect`."""
    host, port = split_address(profile.prefect)
    return Service(
        "prefect-server",
        (
            str(FLOWS_PYTHON),
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            host,
            "--port",
            str(port),
        ),
        profile.prefect,
        "/api/health",
        {
            **PREFECT_SERVER_ENV,
            "PREFECT_HOME": str(run_dir / "prefect"),
            "PREFECT_SERVER_API_AUTH_STRING": auth_string,
            "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
            # The UI's calls go where the server listens.
            "PREFECT_UI_API_URL": f"http://{profile.prefect}/api",
        },
        # Its first start creates its database (16 s on an idle 2-core machine, more under
        # load), and it imports Prefect's whole server.
        ready_timeout=180.0,
    )


def retrain_worker_service(
    profile: Profile,
    run_dir: Path,
    auth_string: str,
    state_dir: Path,
    env: Mapping[str, str],
) -> Service:
    """`python -m flows.worker`: serves the retrain deployment to the Prefect server; its flow
    runs' metrics in `state_dir/retrain-metrics`, on /metrics at `profile.retrain_worker`."""
    host, port = split_address(profile.retrain_worker)
    return Service(
        "retrain-worker",
        (
            str(FLOWS_PYTHON),
            "-m",
            "flows.worker",
            "--metrics-host",
            host,
            "--metrics-port",
            str(port),
        ),
        profile.retrain_worker,
        "/metrics",
        {
            **env,
            "PREFECT_API_URL": f"http://{profile.prefect}/api",
            "PREFECT_API_AUTH_STRING": auth_string,
            "PREFECT_HOME": str(run_dir / "prefect-worker"),
            "PROMETHEUS_MULTIPROC_DIR": str(state_dir / "retrain-metrics"),
            "STATE_DIR": str(state_dir),
        },
    )


def write_mlflow_auth_config(run_dir: Path, mlruns_dir: Path) -> Path:
    """The basic-auth app's config for `mlflow server` (its user store beside the runs); no
    secret in it: the admin's password comes from the environment."""
    path = run_dir / MLFLOW_AUTH_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{mlruns_dir.resolve() / 'basic_auth.db'}\n"
        f"admin_username = {MLFLOW_ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    return path


def embedded_store(mlruns_dir: Path) -> str:
    return f"sqlite:///{mlruns_dir / 'mlflow.db'}"


def train_unless_champion(mlruns_dir: Path, model_dir: Path) -> None:
    """Register a first `bike-demand@champion` in the embedded store unless it has one (before
    `mlflow server` opens it)."""
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": embedded_store(mlruns_dir),
        "MLFLOW_ARTIFACTS_DIR": str(mlruns_dir / "artifacts"),
    }
    command = [
        sys.executable,
        "-m",
        "api.train",
        "--unless-champion",
        "--model-dir",
        str(model_dir),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise StackError(f"training failed (exit {result.returncode}); see the message above")


def check_binaries(flows: bool = True) -> None:
    """The Debian packages, and the flows' environment unless `flows` is False (a stack
    without retraining runs nothing from it)."""
    missing = missing_packages()
    if missing:
        raise StackError(
            f"missing Debian packages: {' '.join(missing)}. Install them with `make system-deps` "
            f"(or: sudo apt-get install --no-install-recommends {' '.join(missing)})"
        )
    if flows and not FLOWS_PYTHON.is_file():
        raise StackError(
            f"{FLOWS_PYTHON.relative_to(ROOT)} is missing (Prefect's server and the retrain "
            "worker run there): run `make flows-env`"
        )


def _start_all(stack: Stack, services: list[Service], timeout: float) -> None:
    busy = [s for s in services if port_in_use(s.address)]
    if busy:
        raise StackError(
            "already in use: "
            + ", ".join(f"{s.name} {s.address}" for s in busy)
            + " (`make local-stop` stops an earlier native stack)"
        )
    try:
        for service in services:
            stack.start(service, timeout)
    except BaseException:
        stack.stop_all()
        raise


def prepare_stack(
    profile: Profile,
    run_dir: Path,
    *,
    model_dir: Path | None = None,
    rules_dir: Path = RULES_DIR,
    model_poll_seconds: float | None = None,
    api_settings: Mapping[str, str] | None = None,
    retraining: bool = True,
    replica_settings: Sequence[Mapping[str, str]] = (),
) -> tuple[Stack, list[Service]]:
    """Everything `start_stack` does but starting: a first champion, the configs for `profile`
    rendered into `run_dir`, and the stack with its services in start order (see `plan`).

    One API per address of `profile.api_targets`, `replica_settings[i]` the extra environment of
    replica i. `retraining=False` is a lighter stack: no Prefect server, no retrain worker; the
    profile the stack records (`Stack.profile`) and renders has no `retrain_worker` or `prefect`
    address, so Prometheus has no worker target to find down.
    """
    if not retraining:
        profile = without_retraining(profile)
    check_binaries(flows=retraining)
    run_dir.mkdir(parents=True, exist_ok=True)
    model_dir = model_dir or run_dir / "model"
    train_unless_champion(run_dir / "mlruns", model_dir)
    prometheus_config, alertmanager_config = render_configs(profile, run_dir, rules_dir)
    write_mlflow_auth_config(run_dir, run_dir / "mlruns")
    services = plan(
        profile,
        run_dir,
        prometheus_config,
        alertmanager_config,
        model_dir,
        run_dir / "reports",
        run_dir / "secrets",
        run_dir / "state",
        run_dir / "mlruns",
        secrets.read_values(run_dir / ".env"),
        model_poll_seconds,
        api_settings,
        replica_settings,
    )
    return Stack(run_dir, profile), services


def start_stack(
    profile: Profile,
    run_dir: Path,
    *,
    model_dir: Path | None = None,
    rules_dir: Path = RULES_DIR,
    timeout: float = READY_TIMEOUT_SECONDS,
    model_poll_seconds: float | None = None,
    api_settings: Mapping[str, str] | None = None,
    retraining: bool = True,
    replica_settings: Sequence[Mapping[str, str]] = (),
) -> Stack:
    """`prepare_stack`, then start everything and wait until it is ready.

    On any failure, whatever was started is stopped before the error propagates.
    """
    stack, services = prepare_stack(
        profile,
        run_dir,
        model_dir=model_dir,
        rules_dir=rules_dir,
        model_poll_seconds=model_poll_seconds,
        api_settings=api_settings,
        retraining=retraining,
        replica_settings=replica_settings,
    )
    _start_all(stack, services, timeout)
    return stack


def _ensure_local_secrets() -> None:
    """`.env` and `secrets/` as `make all` makes them for compose (generated/local's
    Alertmanager config reads ../../../secrets/alert-webhook-token)."""
    if secrets.main([]) != 0:
        raise StackError("could not write the secrets (python -m devtools.secrets)")


def start_local(run_dir: Path, model_dir: Path = DEFAULT_MODEL_DIR) -> Stack:
    """`make local`: the LOCAL profile, from the configs in generated/local (never re-rendered)."""
    check_binaries()
    for path in (LOCAL_PROMETHEUS_CONFIG, LOCAL_ALERTMANAGER_CONFIG):
        if not path.exists():
            raise StackError(f"{path.relative_to(ROOT)} is missing: run `make generate`")
    if any((run_dir / "pids").glob("*.pid")):
        raise StackError(f"a native stack is already recorded in {run_dir}: `make local-stop`")
    train_unless_champion(DEFAULT_MLRUNS_DIR, model_dir)
    _ensure_local_secrets()
    write_mlflow_auth_config(run_dir, DEFAULT_MLRUNS_DIR)
    stack = Stack(run_dir, LOCAL)
    services = plan(
        LOCAL,
        run_dir,
        LOCAL_PROMETHEUS_CONFIG,
        LOCAL_ALERTMANAGER_CONFIG,
        model_dir,
        ROOT / "reports",
        secrets.DEFAULT_SECRETS_DIR,
        DEFAULT_STATE_DIR,
        DEFAULT_MLRUNS_DIR,
        secrets.read_values(secrets.DEFAULT_ENV_FILE),
    )
    grafana = grafana_service(LOCAL, run_dir)
    if grafana is None:
        print(
            "grafana: no `grafana` or `grafana-server` on the PATH, skipped; the dashboards "
            "need Grafana 11.2 (install it, or use `make all` with Docker). Prometheus has "
            f"every series at http://{LOCAL.prometheus}",
            file=sys.stderr,
        )
    else:
        services.append(grafana)
    _start_all(stack, services, READY_TIMEOUT_SECONDS)
    return stack
