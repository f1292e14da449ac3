"""docker-compose.yml and its images' Dockerfiles, checked without Docker: mounts, targets,
provisioning, health, exposure, secrets."""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from api.config import Settings
from devtools.secrets import GENERATED

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
GRAFANA_PROVISIONING = ROOT / "generated" / "grafana" / "provisioning"
# What compose mounts for Prometheus and Alertmanager (written by `make generate`).
PROMETHEUS_CONFIG = ROOT / "generated" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = ROOT / "generated" / "alertmanager" / "alertmanager.yml"
# The folders Grafana reads at start-up: datasources, dashboard providers, alerting.
GRAFANA_PROVISIONING_KINDS = ("datasources", "dashboards", "alerting")
GRAFANA_PROVISIONING_PATH = PurePosixPath("/etc/grafana/provisioning")

# Host paths a service may mount, each with its reason; anything else must be in the repo.
HOST_MOUNTS = {
    # node-exporter's documented container set-up: the host's root, read-only.
    ("node-exporter", "/"): "host filesystems for node-exporter (--path.rootfs=/host)",
    # cAdvisor's documented mounts: it reads every container's cgroups and the Docker state.
    ("cadvisor", "/"): "cAdvisor reads the host root",
    ("cadvisor", "/var/run"): "cAdvisor talks to the Docker socket",
    ("cadvisor", "/sys"): "cAdvisor reads cgroups",
    ("cadvisor", "/var/lib/docker/"): "cAdvisor reads container layers",
    ("cadvisor", "/dev/disk/"): "cAdvisor maps disk devices",
}
SERVICES = (
    "bike-api", "train", "prometheus", "grafana", "node-exporter", "alertmanager",
    "prefect-db", "prefect-server", "retrain-worker",
)  # fmt: skip
# The images built here: bike-api's (train, evaluation), MLflow's, the flows' (Prefect).
DOCKERFILES = (
    ROOT / "api" / "Dockerfile",
    ROOT / "mlflow-server" / "Dockerfile",
    ROOT / "flows" / "Dockerfile",
)
FLOWS_BUILD = {"context": ".", "dockerfile": "flows/Dockerfile"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
# Settings whose value is `user:password` (Prefect's basic auth).
AUTH_STRING = re.compile(r"AUTH_STRING", re.IGNORECASE)
# A value compose must find in .env, or refuse to start: `${VAR:?message}`.
REQUIRED = r"\$\{\w+:\?[^}]+\}"
# Prefect's basic auth, as the server, the worker and bike-api must all have it.
PREFECT_AUTH = re.compile(r"admin:\$\{PREFECT_ADMIN_PASSWORD:\?[^}]+\}")
_VAR = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str) -> str:
    """What compose makes of `text` with an empty environment: `${VAR:-default}` -> default."""

    def one(match: re.Match[str]) -> str:
        if match.group("op") in (":-", "-"):
            return match.group("arg")
        if match.group("op") in (":?", "?"):
            return f"<required {match.group('name')}>"
        return ""

    return _VAR.sub(one, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def volumes(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each short-syntax volume."""
    out = []
    for entry in service.get("volumes", []):
        assert isinstance(entry, str), f"use the short volume syntax: {entry}"
        source, target, *rest = entry.split(":")
        out.append((source, target, rest[0] if rest else "rw"))
    return out


def container_ports(service: dict[str, Any]) -> set[int]:
    """The ports it publishes, and those it serves on the compose network only (`expose`)."""
    published = {
        int(interpolate(p).rsplit(":", 1)[1].split("/")[0]) for p in service.get("ports", [])
    }
    return published | {int(str(p).split("/")[0]) for p in service.get("expose", [])}


def mount_source(service: dict[str, Any], container_path: str) -> Path | None:
    """The repo path mounted at `container_path` (or at a folder above it)."""
    wanted = PurePosixPath(container_path)
    for source, target, _ in volumes(service):
        if source.startswith("."):
            target_path = PurePosixPath(target)
            if wanted == target_path or target_path in wanted.parents:
                return ROOT / source / wanted.relative_to(target_path)
    return None


def address(target: str, services: dict[str, dict[str, Any]]) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    assert host in services, f"{target}: {host} is not a compose service"
    assert int(port) in container_ports(services[host]), f"{target}: {host} does not serve {port}"
    return host, int(port)


def test_the_stack_has_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert set(SERVICES) <= set(services)
    assert services["evaluation"]["profiles"] == ["evaluation"]
    assert services["cadvisor"]["profiles"] == ["cadvisor"]
    for name in SERVICES:
        assert "profiles" not in services[name], f"{name} must start with `docker compose up`"


def test_images_are_the_versions_the_configs_are_written_for(
    services: dict[str, dict[str, Any]],
) -> None:
    def tag(name: str) -> str:
        return str(services[name]["image"]).split("@")[0]

    assert re.fullmatch(r"prom/prometheus:v2\.55\.\d+", tag("prometheus"))
    assert re.fullmatch(r"grafana/grafana:11\.2\.\d+", tag("grafana"))
    assert re.fullmatch(r"prom/alertmanager:v0\.27\.\d+", tag("alertmanager"))
    for name in ("bike-api", "train", "evaluation"):
        assert services[name]["build"] == {"context": ".", "dockerfile": "api/Dockerfile"}
    assert (ROOT / "api" / "Dockerfile").is_file()
    for name in ("prefect-server", "retrain-worker"):
        assert services[name]["build"] == FLOWS_BUILD, name
    # The one-shot that creates Prefect's database runs PostgreSQL's own image (its client).
    assert services["prefect-db"]["image"] == services["postgres"]["image"]


PINNED = re.compile(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}")


def test_every_image_is_pinned_by_tag_and_digest(services: dict[str, dict[str, Any]]) -> None:
    pulled = {name: s["image"] for name, s in services.items() if "build" not in s}
    assert pulled
    for name, image in pulled.items():
        assert PINNED.fullmatch(image), f"{name}: {image} needs tag@sha256:digest"
    for dockerfile in DOCKERFILES:
        bases = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.MULTILINE)
        assert bases and all(PINNED.fullmatch(base) for base in bases), (dockerfile, bases)
    # One Python for every image (the locks are compiled for 3.11): bumped together.
    assert len({_base(dockerfile) for dockerfile in DOCKERFILES}) == 1


def _base(dockerfile: Path) -> str:
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), re.MULTILINE)
    return base


def _instructions(dockerfile: Path, keyword: str) -> list[str]:
    """The arguments of each `keyword` instruction, continuation lines joined."""
    text = dockerfile.read_text().replace("\\\n", " ")
    return re.findall(rf"^{keyword}\s+(.+)$", text, re.MULTILINE)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_image_installs_hashed_locks_and_runs_unprivileged(dockerfile: Path) -> None:
    installs = [
        command
        for run in _instructions(dockerfile, "RUN")
        for command in run.split("&&")
        if "pip install" in command
    ]
    assert installs, dockerfile
    # Dependencies come from a lock, every file hash-checked; the project itself adds none.
    for command in installs:
        assert "--require-hashes -r" in command or "--no-deps" in command, command
    assert any("--require-hashes -r" in command for command in installs)
    users = _instructions(dockerfile, "USER")
    assert users and users[-1].strip() not in ("root", "0", "0:0"), (dockerfile, users)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_what_an_image_copies_is_in_its_build_context(dockerfile: Path) -> None:
    """Compose builds from the repo root: .dockerignore must not drop what a COPY names."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    for copy in _instructions(dockerfile, "COPY"):
        *sources, _ = [arg for arg in copy.split() if not arg.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"{dockerfile}: {source} is not in the repo"
            parts = PurePosixPath(source).parts
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            excluded = [p for p in patterns for prefix in prefixes if fnmatch(prefix, p)]
            assert not excluded, f"{dockerfile}: .dockerignore {excluded} drops {source}"


def test_the_flows_image_holds_prefect_the_service_and_the_flows() -> None:
    dockerfile = ROOT / "flows" / "Dockerfile"
    copies = {tuple(c.split()[:-1]) for c in _instructions(dockerfile, "COPY")}
    # The lock (Prefect 3, the service, its `store` extra), then the project without deps: its
    # api/ carries the bundled dataset, BIKE_SHARING_SOURCE's default.
    assert {("flows/requirements.lock",), ("pyproject.toml",), ("api",), ("flows",)} <= copies
    assert (ROOT / "api" / "dataset" / "bike+sharing+dataset.zip").is_file()
    lock = (ROOT / "flows" / "requirements.lock").read_text()
    assert re.search(r"^prefect==3\.", lock, re.MULTILINE)
    assert re.search(r"^asyncpg==", lock, re.MULTILINE)  # Prefect's PostgreSQL driver


def test_every_service_is_hardened_but_the_opt_in_cadvisor(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "cadvisor":
            # Privileged by nature; opt-in, and the README says what it grants.
            assert service["privileged"] is True and service["profiles"] == ["cadvisor"]
            continue
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        assert service.get("cap_drop") == ["ALL"], name
        # PostgreSQL's entrypoint prepares its data folder as root, then drops to its user.
        allowed = (
            {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"} if name == "postgres" else set()
        )
        assert set(service.get("cap_add", [])) <= allowed and not service.get("privileged"), name
        assert service.get("read_only") is True, name
        assert re.fullmatch(r"\d+[mg]", str(service.get("mem_limit", ""))), name


def test_what_the_read_only_services_write_is_a_volume_or_a_tmpfs(
    services: dict[str, dict[str, Any]],
) -> None:
    writes = {
        "bike-api": ["/reports", "/state", "/run/bike-api-metrics", "/tmp"],
        "train": ["/data", "/tmp"],
        "postgres": ["/var/lib/postgresql/data", "/var/run/postgresql", "/tmp"],
        "mlflow": ["/mlartifacts", "/tmp"],
        "prometheus": ["/prometheus"],
        "alertmanager": ["/alertmanager", "/run/secrets"],
        "grafana": ["/var/lib/grafana", "/tmp"],
        "prefect-db": ["/tmp"],
        "prefect-server": ["/var/lib/prefect", "/tmp"],
        "retrain-worker": ["/var/lib/prefect", "/var/lib/retrain/metrics", "/data", "/tmp"],
    }
    for name, paths in writes.items():
        service = services[name]
        writable = {t for _, t, mode in volumes(service) if mode == "rw"}
        writable |= set(service.get("tmpfs", []))
        assert set(paths) <= writable, (name, sorted(set(paths) - writable))
    assert services["grafana"]["environment"]["GF_LOG_MODE"] == "console"


def test_every_mount_exists_in_the_repo_or_is_a_declared_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose["volumes"])
    for name, service in services.items():
        for source, target, mode in volumes(service):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} is not in the repo"
                assert mode == "ro", f"{name}: {source} must be mounted read-only"
            elif source.startswith("/"):
                assert (name, source) in HOST_MOUNTS, f"{name}: undeclared host mount {source}"
                assert mode.startswith("ro"), f"{name}: host path {source} must be read-only"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                assert target.startswith("/"), f"{name}: {target}"


def test_configs_are_mounted_from_generated(services: dict[str, dict[str, Any]]) -> None:
    for name in ("prometheus", "alertmanager", "grafana"):
        for source, _, _ in volumes(services[name]):
            if source.startswith("."):
                assert source.startswith("./generated/"), f"{name}: {source} is not generated"


def test_prometheus_reads_the_mounted_config_and_rules(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = services["prometheus"]
    flags = dict(arg.split("=", 1) for arg in prometheus["command"])
    assert mount_source(prometheus, flags["--config.file"]) == (
        ROOT / "generated" / "prometheus" / "prometheus.yml"
    )
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    for pattern in config["rule_files"]:
        folder = mount_source(prometheus, str(PurePosixPath(pattern).parent))
        assert folder is not None, f"rule_files {pattern} is not mounted"
        assert sorted(folder.glob(PurePosixPath(pattern).name)), f"{pattern} matches no file"


def test_every_scrape_target_is_a_compose_service_and_its_port(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = [
        (job["job_name"], target)
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]
    # Optional services are found by name while they run (cAdvisor's profile).
    targets += [
        (job["job_name"], f"{name}:{dns['port']}")
        for job in config["scrape_configs"]
        for dns in job.get("dns_sd_configs", [])
        for name in dns["names"]
    ]
    assert targets, "no scrape targets"
    # Job names are the service names, so a target's job says which container it is.
    for job, target in targets:
        assert address(target, services)[0] == job
    for am in config["alerting"]["alertmanagers"]:
        for static in am["static_configs"]:
            assert address(static["targets"][0], services)[0] == "alertmanager"


def test_alertmanager_delivers_to_the_apis_webhook(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    urls = [hook["url"] for receiver in config["receivers"] for hook in receiver["webhook_configs"]]
    assert urls
    for url in urls:
        parts = urlsplit(url)
        assert address(parts.netloc, services) == ("bike-api", 8080)
        assert parts.path == "/alerts"
    hooks = [hook for receiver in config["receivers"] for hook in receiver["webhook_configs"]]
    for hook in hooks:
        # The token is read from a file at each notification; the file is on the tmpfs the
        # entrypoint writes it to, never in generated/.
        authorization = hook["http_config"]["authorization"]
        assert authorization["type"] == "Bearer"
        token_file = PurePosixPath(authorization["credentials_file"])
        assert str(token_file.parent) in services["alertmanager"]["tmpfs"]
        assert str(token_file) in " ".join(services["alertmanager"]["entrypoint"])
    flags = dict(arg.split("=", 1) for arg in services["alertmanager"]["command"])
    assert mount_source(services["alertmanager"], flags["--config.file"]) == (
        ROOT / "generated" / "alertmanager" / "alertmanager.yml"
    )


def test_every_grafana_provisioning_folder_is_mounted(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    for kind in GRAFANA_PROVISIONING_KINDS:
        assert (GRAFANA_PROVISIONING / kind).is_dir(), f"generated/ has no {kind} provisioning"
        assert mount_source(grafana, str(GRAFANA_PROVISIONING_PATH / kind)) == (
            GRAFANA_PROVISIONING / kind
        ), f"{kind} provisioning is not mounted"


def _provisioning(kind: str) -> list[dict[str, Any]]:
    files = sorted((GRAFANA_PROVISIONING / kind).glob("*.y*ml"))
    assert files, f"no {kind} provisioning file"
    return [yaml.safe_load(p.read_text()) for p in files]


def test_dashboard_providers_point_at_the_mounted_dashboards(
    services: dict[str, dict[str, Any]],
) -> None:
    grafana = services["grafana"]
    paths = [p["options"]["path"] for f in _provisioning("dashboards") for p in f["providers"]]
    assert paths
    for path in paths:
        source = mount_source(grafana, path)
        assert source is not None, f"dashboard provider path {path} is not mounted"
        assert sorted(source.rglob("*.json")), f"{path} holds no dashboard"


def test_datasources_address_compose_services(services: dict[str, dict[str, Any]]) -> None:
    datasources = [d for f in _provisioning("datasources") for d in f["datasources"]]
    assert {d["type"] for d in datasources} >= {"prometheus"}
    for datasource in datasources:
        address(urlsplit(datasource["url"]).netloc, services)


def test_every_service_has_a_healthcheck_and_one_shots_say_why_not(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            # Only run-to-completion jobs go without: their exit code is their health.
            assert service.get("restart") == "no", f"{name}: a disabled check on a server"
        else:
            assert check["test"][0] == "CMD" and check["interval"] and check["retries"]


def test_dependencies_wait_for_health_or_completion(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency, spec in depends.items():
            target = services[dependency]
            if target["healthcheck"].get("disable"):
                expected = "service_completed_successfully"
            else:
                expected = "service_healthy"
            assert spec == {"condition": expected}, f"{name} -> {dependency}"
    assert services["bike-api"]["depends_on"] == {
        "train": {"condition": "service_completed_successfully"}
    }


def test_the_monitoring_starts_whatever_happens_to_the_api(
    services: dict[str, dict[str, Any]],
) -> None:
    """A failed training or an API that never turns healthy is what the stack must show and
    alert on: nothing that watches the API waits for it."""
    for name in ("prometheus", "alertmanager", "node-exporter", "grafana"):
        assert "depends_on" not in services[name], name
    waiting = {n for n, s in services.items() if "bike-api" in s.get("depends_on", {})}
    assert waiting == {"evaluation"}  # the one client that needs the API to answer


def test_cadvisor_is_scraped_only_with_its_profile(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "cadvisor"]
    # A name resolved by Docker's DNS: no container, no target (rather than one always down).
    assert job["dns_sd_configs"] == [{"names": ["cadvisor"], "type": "A", "port": 8080}]
    assert services["cadvisor"]["profiles"] == ["cadvisor"]


def test_workers_and_their_metrics_folder_reach_the_api(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["bike-api"]
    environment = {k: interpolate(str(v)) for k, v in api["environment"].items()}
    assert environment["WEB_CONCURRENCY"] == "1"
    assert environment["PROMETHEUS_MULTIPROC_DIR"] in api["tmpfs"]


def test_the_api_never_trains_and_training_registers_once(
    services: dict[str, dict[str, Any]],
) -> None:
    api, train = services["bike-api"], services["train"]
    assert "command" not in api and "entrypoint" not in api
    assert "api.train" not in (ROOT / "api" / "Dockerfile").read_text().split("CMD")[-1]
    # The first `up` registers a champion; later ones find it and skip.
    assert train["command"] == ["python", "-m", "api.train", "--unless-champion"]
    # The API serves the registry's champion, cached in its state volume (no model volume).
    for service in (api, train):
        assert service["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
        assert service["environment"]["MODEL_SOURCE"] == "registry"
    assert not any(target == "/models" for _, target, _ in volumes(api))
    assert ("state", "/state", "rw") in volumes(api)
    assert train["depends_on"]["mlflow"]["condition"] == "service_healthy"
    assert api["depends_on"]["train"]["condition"] == "service_completed_successfully"


def test_mlflow_serves_artifacts_from_postgresql_and_a_volume(
    services: dict[str, dict[str, Any]],
) -> None:
    mlflow, postgres = services["mlflow"], services["postgres"]
    dockerfile = (ROOT / "mlflow-server" / "Dockerfile").read_text()
    command = dockerfile.split("CMD", 1)[1]
    assert '"--serve-artifacts"' in command and '"/mlartifacts"' in command
    # basic-auth: the admin's password and the CSRF key from .env, the user store in a volume.
    assert '"--app-name", "basic-auth"' in command
    assert "MLFLOW_AUTH_CONFIG_PATH=/etc/mlflow/basic_auth.ini" in dockerfile
    auth = (ROOT / "mlflow-server" / "basic_auth.ini").read_text()
    assert "database_uri = sqlite:////mlflow-auth/basic_auth.db" in auth
    assert "admin_password" not in auth.replace("MLFLOW_AUTH_ADMIN_PASSWORD", "")
    assert ("mlflow-auth", "/mlflow-auth", "rw") in volumes(mlflow)
    environment = mlflow["environment"]
    assert environment["MLFLOW_AUTH_ADMIN_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")
    assert environment["MLFLOW_FLASK_SERVER_SECRET_KEY"].startswith(
        "${MLFLOW_FLASK_SERVER_SECRET_KEY:?"
    )
    for client in ("bike-api", "train"):
        client_env = services[client]["environment"]
        assert client_env["MLFLOW_TRACKING_USERNAME"] == "admin"
        assert client_env["MLFLOW_TRACKING_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")
    assert "--require-hashes -r /tmp/requirements.lock" in dockerfile
    uri = mlflow["environment"]["MLFLOW_BACKEND_STORE_URI"]
    assert uri.startswith("postgresql+psycopg2://mlflow:${POSTGRES_PASSWORD:?") and uri.endswith(
        "@postgres:5432/mlflow"
    )
    assert ("mlflow-artifacts", "/mlartifacts", "rw") in volumes(mlflow)
    assert ("postgres-data", "/var/lib/postgresql/data", "rw") in volumes(postgres)
    assert postgres["image"].startswith("postgres:16")
    assert "ports" not in postgres
    assert mlflow["depends_on"]["postgres"]["condition"] == "service_healthy"
    allowed = mlflow["environment"]["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert "mlflow:5000" in allowed and "localhost:5000" in allowed
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]


def test_ports_are_published_on_loopback_by_default(services: dict[str, dict[str, Any]]) -> None:
    published = [(n, p) for n, s in services.items() for p in s.get("ports", [])]
    assert published
    for name, port in published:
        assert interpolate(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_no_secret_is_written_in_the_file(services: dict[str, dict[str, Any]]) -> None:
    grafana_env = services["grafana"]["environment"]
    assert re.fullmatch(
        r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", grafana_env["GF_SECURITY_ADMIN_PASSWORD"]
    )
    assert interpolate(grafana_env["GF_AUTH_ANONYMOUS_ENABLED"]) == "false"
    for name, service in services.items():
        environment = service.get("environment", {})
        if not isinstance(environment, dict):
            continue
        for key, value in environment.items():
            if SECRET_NAME.search(key) and value is not None:  # None: passed through, unset
                assert re.fullmatch(REQUIRED, str(value)), f"{name}: {key} literal"
            if AUTH_STRING.search(key) and value is not None:
                # user:password (Prefect's basic auth): the password from .env.
                assert re.fullmatch(rf"\w+:{REQUIRED}", str(value)), f"{name}: {key} literal"
    # A password inside a URL (a database's, a client's): from .env too, wherever it is written.
    for name, text in _strings(services):
        for match in re.finditer(r"://[^/:@\s]+:(?P<password>[^@]*)@", text):
            assert re.fullmatch(REQUIRED, match["password"]), f"{name}: a literal password in a URL"
    # The Kubernetes base names its credentials by Secret reference only ({name, key}: checked in
    # tests/generator/test_kubernetes.py); every other generated file names none at all.
    generated = "".join(
        p.read_text()
        for p in (ROOT / "generated").rglob("*")
        if p.is_file() and "kubernetes" not in p.relative_to(ROOT / "generated").parts
    )
    assert "credentials:" not in generated and "authorization_credentials" not in generated


def _strings(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every string in `node` (a service, a list of them), with the service it is in."""
    if isinstance(node, str):
        return [(where, node)]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(value, where or str(key))]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value, where)]
    return []


def test_every_required_variable_is_generated_by_make_all() -> None:
    """`make all` runs `python -m devtools.secrets` before `docker compose up`: each `${VAR:?}`
    compose needs must be one of the secrets it writes to .env, or the first `up` fails."""
    required = {
        m.group("name")
        for m in _VAR.finditer(COMPOSE_FILE.read_text())
        if m.group("op") in (":?", "?")
    }
    assert {"PREFECT_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "MLFLOW_ADMIN_PASSWORD"} <= required
    assert required <= set(GENERATED), sorted(required - set(GENERATED))


def test_env_example_documents_every_variable_without_a_value() -> None:
    example = (ROOT / ".env.example").read_text()
    used = set(m.group("name") for m in _VAR.finditer(COMPOSE_FILE.read_text()))
    documented = set(re.findall(r"^#?(\w+)=", example, re.MULTILINE))
    assert used <= documented, f"undocumented in .env.example: {sorted(used - documented)}"
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and SECRET_NAME.search(key) and not key.endswith("_FILE"):
            assert value == "", f".env.example must not carry a value for {key}"


def test_every_api_setting_reaches_the_container_and_is_documented(
    services: dict[str, dict[str, Any]],
) -> None:
    settings = {name.upper() for name in Settings.model_fields}
    environment = services["bike-api"]["environment"]
    # Set by compose, or passed through (no value) from the shell or .env.
    assert settings <= set(environment), sorted(settings - set(environment))
    documented = set(re.findall(r"^#?(\w+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert settings <= documented, sorted(settings - documented)


def _writable(service: dict[str, Any], path: str) -> bool:
    """`path` is on a tmpfs or a read-write volume of `service` (its root is read-only)."""
    wanted = PurePosixPath(path)
    mounts = list(service.get("tmpfs", []))
    mounts += [target for _, target, mode in volumes(service) if mode == "rw"]
    return any(wanted == PurePosixPath(m) or PurePosixPath(m) in wanted.parents for m in mounts)


def _health_url(service: dict[str, Any]) -> str:
    (url,) = re.findall(r"https?://[^'\"\s]+", " ".join(service["healthcheck"]["test"]))
    return url


def test_prefect_server_keeps_its_runs_in_postgresql_behind_basic_auth(
    services: dict[str, dict[str, Any]],
) -> None:
    server, postgres, create = (
        services["prefect-server"],
        services["postgres"],
        services["prefect-db"],
    )
    assert server["command"] == [
        "prefect",
        "server",
        "start",
        "--host",
        "0.0.0.0",
        "--port",
        "4200",
    ]
    environment = server["environment"]
    # The postgres service's user and password (as MLflow's store), a database of its own.
    user = postgres["environment"]["POSTGRES_USER"]
    uri = environment["PREFECT_SERVER_DATABASE_CONNECTION_URL"]
    assert uri.startswith(f"postgresql+asyncpg://{user}:${{POSTGRES_PASSWORD:?"), uri
    assert uri.endswith("@postgres:5432/prefect"), uri
    # Anything that can start a retraining is authenticated.
    assert PREFECT_AUTH.fullmatch(environment["PREFECT_SERVER_API_AUTH_STRING"])
    assert interpolate(environment["PREFECT_SERVER_ANALYTICS_ENABLED"]) == "false"
    # Its home and the UI it copies out of its package are written at start: not on the root.
    for setting in ("PREFECT_HOME", "PREFECT_SERVER_UI_STATIC_DIRECTORY"):
        assert _writable(server, environment[setting]), setting
    # /api/health answers without the auth string.
    assert _health_url(server) == "http://127.0.0.1:4200/api/health"
    assert 4200 in container_ports(server)
    assert server["depends_on"]["postgres"] == {"condition": "service_healthy"}
    # The database exists before the server starts, on a new volume and an older one alike.
    assert server["depends_on"]["prefect-db"] == {"condition": "service_completed_successfully"}
    script = " ".join(create["entrypoint"])
    assert "createdb prefect" in script and "datname = 'prefect'" in script
    assert create["environment"]["PGHOST"] == "postgres"
    assert create["environment"]["PGUSER"] == user
    assert create["environment"]["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert create["user"] == "postgres" and create["restart"] == "no"
    assert create["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_retrain_worker_reaches_prefect_and_mlflow_with_their_credentials(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    worker, api = services["retrain-worker"], services["bike-api"]
    assert worker["command"] == ["python", "-m", "flows.worker"]
    environment = worker["environment"]
    prefect = urlsplit(environment["PREFECT_API_URL"])
    assert address(prefect.netloc, services) == ("prefect-server", 4200)
    assert prefect.path == "/api"
    assert PREFECT_AUTH.fullmatch(environment["PREFECT_API_AUTH_STRING"])
    # The registry as bike-api reaches it, with the same user; the same data source.
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        assert environment[key] == api["environment"][key], key
    assert environment["MLFLOW_TRACKING_PASSWORD"].startswith("${MLFLOW_ADMIN_PASSWORD:?")
    assert environment["BIKE_SHARING_SOURCE"] == api["environment"]["BIKE_SHARING_SOURCE"]
    assert _writable(worker, environment["DATA_DIR"])
    assert _writable(worker, environment["PREFECT_HOME"])
    # /metrics: on the port it is told, checked by its healthcheck, reachable by Prometheus.
    port = int(environment["RETRAIN_METRICS_PORT"])
    assert _health_url(worker) == f"http://127.0.0.1:{port}/metrics"
    assert port in container_ports(worker) and "ports" not in worker
    # Flow-run counters survive a restart: their files are on a named volume, which starts
    # with the owner the image gives the folder.
    metrics = environment["PROMETHEUS_MULTIPROC_DIR"]
    assert ("retrain-metrics", metrics, "rw") in volumes(worker)
    assert "retrain-metrics" in compose["volumes"]
    dockerfile = (ROOT / "flows" / "Dockerfile").read_text().replace("\\\n", " ")
    assert any("chown" in line and metrics in line for line in dockerfile.splitlines())
    assert worker["depends_on"] == {
        "prefect-server": {"condition": "service_healthy"},
        "mlflow": {"condition": "service_healthy"},
    }


def test_the_api_hands_retraining_to_prefect_without_waiting_for_it(
    services: dict[str, dict[str, Any]],
) -> None:
    api = services["bike-api"]
    environment = api["environment"]
    prefect = urlsplit(environment["PREFECT_API_URL"])
    assert address(prefect.netloc, services) == ("prefect-server", 4200)
    assert prefect.path == "/api"
    assert PREFECT_AUTH.fullmatch(environment["PREFECT_API_AUTH_STRING"])
    # The same user and password as the server's and the worker's.
    assert (
        environment["PREFECT_API_AUTH_STRING"]
        == services["retrain-worker"]["environment"]["PREFECT_API_AUTH_STRING"]
        == services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
    )
    # The API records the decision and retries its delivery while Prefect is down.
    assert "prefect-server" not in api.get("depends_on", {})
