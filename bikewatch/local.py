"""The native stack (no Docker): `python -m bikewatch.local start|stop|status [--run-dir run]`.

Starts the compose topology with local binaries, from configs compiled by the generator: the API
under uvicorn, Debian's `prometheus`, `prometheus-node-exporter` and `prometheus-alertmanager`,
and Grafana when a `grafana` binary is on the PATH. Everything listens on 127.0.0.1; pid files
and logs go to the run folder, and `stop` stops exactly the processes that `start` wrote there.

The core (`start_stack` / `Stack.stop_all`) takes any `Profile`, so the end-to-end test runs the
same code on free ports with short intervals.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import yaml

from bikewatch.profiles import COMPOSE, LOCAL, Profile
from rules_py.compiler import render_alertmanager_config, render_prometheus_config

__all__ = [
    "DEBIAN_BINARIES",
    "RULES_DIR",
    "Service",
    "Stack",
    "StackError",
    "check_binaries",
    "free_port",
    "grafana_service",
    "main",
    "plan",
    "render_configs",
    "render_grafana_provisioning",
    "start_local",
    "start_stack",
    "stop_run_dir",
    "train_if_missing",
]

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
RULES_DIR = GENERATED / "prometheus" / "rules"
LOCAL_PROMETHEUS_CONFIG = GENERATED / "local" / "prometheus" / "prometheus.yml"
LOCAL_ALERTMANAGER_CONFIG = GENERATED / "local" / "alertmanager" / "alertmanager.yml"
DEFAULT_RUN_DIR = ROOT / "run"
DEFAULT_MODEL_DIR = ROOT / "artifacts"
# The API writes its card last: its presence means a complete artifact.
MODEL_MARKER = "model_card.json"

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
# Uvicorn imports the app in ~2 s, Prometheus replays its WAL; a minute means something is wrong.
READY_TIMEOUT_SECONDS = 60.0
# SIGTERM lets Prometheus flush its head block; past this, SIGKILL.
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.2


class StackError(Exception):
    """The stack cannot start or stop; the message says what and what to do."""


@dataclass(frozen=True)
class Service:
    """One process of the stack: how to run it and how to know it is ready."""

    name: str
    argv: tuple[str, ...]
    address: str  # host:port it listens on
    ready_path: str
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def ready_url(self) -> str:
        return f"http://{self.address}{self.ready_path}"


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for tests; the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _port_in_use(address: str) -> bool:
    host, port = _split(address)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers themselves bind: a port in TIME_WAIT is free to them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def missing_packages() -> list[str]:
    """Debian packages whose binary is not on the PATH."""
    return [pkg for pkg, binary in DEBIAN_BINARIES.items() if shutil.which(binary) is None]


def grafana_binary() -> str | None:
    for name in GRAFANA_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def render_configs(
    profile: Profile, run_dir: Path, rules_dir: Path = RULES_DIR
) -> tuple[Path, Path]:
    """Compile Prometheus's and Alertmanager's configs for `profile` into `run_dir/config`.

    The same compiler functions write generated/ for compose and for `make local`; the rule files
    are referenced in place (absolute path), so the run folder holds no copy to drift.
    """
    profile = replace(profile, rules_dir=str(rules_dir.resolve()))
    config_dir = run_dir / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    prometheus = config_dir / "prometheus.yml"
    prometheus.write_text(render_prometheus_config(profile), encoding="utf-8")
    alertmanager = config_dir / "alertmanager.yml"
    alertmanager.write_text(render_alertmanager_config(profile), encoding="utf-8")
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


def grafana_service(profile: Profile, run_dir: Path) -> Service | None:
    """Grafana on the profile's address when a binary is installed, else None (and why)."""
    binary = grafana_binary()
    if binary is None:
        return None
    password = os.environ.get("GRAFANA_ADMIN_PASSWORD")
    if not password:
        raise StackError(
            "Grafana found: export GRAFANA_ADMIN_PASSWORD first (the native stack reads the "
            "environment, not .env; see .env.example)"
        )
    home = next((h for h in GRAFANA_HOMES if Path(h, "conf", "defaults.ini").exists()), None)
    if home is None:
        raise StackError(f"Grafana found at {binary} but no homepath in {', '.join(GRAFANA_HOMES)}")
    host, port = _split(profile.grafana)
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
            "GF_AUTH_ANONYMOUS_ENABLED": os.environ.get("GRAFANA_ANONYMOUS_ENABLED", "false"),
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        },
    )


def plan(
    profile: Profile,
    run_dir: Path,
    prometheus_config: Path,
    alertmanager_config: Path,
    model_dir: Path,
    reports_dir: Path,
) -> list[Service]:
    """The services in start order: scrape targets first, so Prometheus finds them up."""
    api_host, api_port = _split(profile.api)
    return [
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
        Service(
            "bike-api",
            (
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                api_host,
                "--port",
                str(api_port),
                # Requests are counted in metrics; the log keeps the app's own messages readable.
                "--no-access-log",
            ),
            profile.api,
            "/ready",
            {"MODEL_DIR": str(model_dir), "REPORTS_DIR": str(reports_dir)},
        ),
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


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def _gone(pid: int) -> bool:
    """True once the process has exited (reaped, or a zombie we reap now)."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _group_alive(pgid: int) -> bool:
    """True while a process of group `pgid` still runs (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM the process group `pid` leads, SIGKILL it after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _gone(pid) and not _group_alive(pid):
                return
            time.sleep(POLL_SECONDS / 2)


class Stack:
    """Processes started into one run folder; each has `pids/<name>.pid` naming pid and argv."""

    def __init__(self, run_dir: Path, profile: Profile) -> None:
        self.run_dir = run_dir
        self.profile = profile
        self.services: dict[str, Service] = {}
        # Kept so each child is waited for (reaped) when it stops.
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        (run_dir / "pids").mkdir(parents=True, exist_ok=True)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)

    def pid_file(self, name: str) -> Path:
        return self.run_dir / "pids" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.run_dir / "logs" / f"{name}.log"

    def start(self, service: Service, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start `service` in its own process group and wait until its ready URL answers 200."""
        if self.pid_file(service.name).exists():
            raise StackError(f"{service.name}: already started ({self.pid_file(service.name)})")
        if _port_in_use(service.address):
            raise StackError(
                f"{service.name}: {service.address} is already in use; stop what listens there "
                "(`make local-stop` if it is an earlier native stack)"
            )
        binary = shutil.which(service.argv[0])
        if binary is None:
            raise StackError(f"{service.name}: {service.argv[0]} not found on the PATH")
        argv = [binary, *service.argv[1:]]
        with self.log_file(service.name).open("ab") as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**os.environ, **service.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group: stop() signals the group, children included.
                start_new_session=True,
            )
        record = {"pid": proc.pid, "argv": argv, "address": service.address}
        self.pid_file(service.name).write_text(json.dumps(record, sort_keys=True) + "\n")
        self.services[service.name] = service
        self.procs[service.name] = proc
        self.wait_ready(service, timeout, proc)

    def wait_ready(
        self, service: Service, timeout: float, proc: subprocess.Popen[bytes] | None = None
    ) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise StackError(
                    f"{service.name} exited with code {proc.returncode} before it was ready; "
                    f"log: {self.log_file(service.name)}\n{self.log_tail(service.name)}"
                )
            try:
                response = httpx.get(service.ready_url, timeout=2.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(POLL_SECONDS)
        raise StackError(
            f"{service.name}: {service.ready_url} not ready after {timeout:.0f} s ({last}); "
            f"log: {self.log_file(service.name)}\n{self.log_tail(service.name)}"
        )

    def running(self) -> dict[str, bool]:
        """Each recorded process: True while its pid still runs the recorded command line."""
        return {p.stem: _is_running(p) for p in sorted((self.run_dir / "pids").glob("*.pid"))}

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_file(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, name: str, timeout: float = STOP_TIMEOUT_SECONDS) -> str:
        """Stop the process `name` started, if its pid still runs the recorded command line."""
        line = _stop_pid_file(self.pid_file(name), timeout)
        self._reap(name)
        return line

    def stop_all(self) -> list[str]:
        """Stop every process of the run folder, newest first; always tries them all."""
        lines = stop_run_dir(self.run_dir)
        for name in list(self.procs):
            self._reap(name)
        return lines

    def _reap(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)


def _is_running(pid_file: Path) -> bool:
    record = json.loads(pid_file.read_text())
    return not _gone(record["pid"]) and _cmdline(record["pid"]) == record["argv"]


def _stop_pid_file(path: Path, timeout: float = STOP_TIMEOUT_SECONDS) -> str:
    name = path.stem
    try:
        record = json.loads(path.read_text())
        pid, argv = int(record["pid"]), list(record["argv"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        path.unlink(missing_ok=True)
        return f"{name}: unreadable pid file removed ({exc})"
    try:
        if _gone(pid):
            return f"{name}: was not running (pid {pid})"
        if _cmdline(pid) != argv:
            # The pid was reused by another program: never signal what we did not start.
            return f"{name}: pid {pid} now runs something else; left alone"
        _terminate(pid, timeout)
        return f"{name}: stopped (pid {pid})"
    finally:
        path.unlink(missing_ok=True)


def stop_run_dir(run_dir: Path, timeout: float = STOP_TIMEOUT_SECONDS) -> list[str]:
    """Stop every process with a pid file in `run_dir/pids`, newest first. One line each."""
    pids = run_dir / "pids"
    files = sorted(pids.glob("*.pid"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    return [_stop_pid_file(p, timeout) for p in files]


def train_if_missing(model_dir: Path) -> bool:
    """Train into `model_dir` unless it holds a complete artifact; True when it trained."""
    if (model_dir / MODEL_MARKER).exists():
        return False
    result = subprocess.run(
        [sys.executable, "-m", "api.train", "--model-dir", str(model_dir)], cwd=ROOT, check=False
    )
    if result.returncode != 0:
        raise StackError(f"training failed (exit {result.returncode}); see the message above")
    return True


def check_binaries() -> None:
    missing = missing_packages()
    if missing:
        raise StackError(
            f"missing Debian packages: {' '.join(missing)}. Install them with `make system-deps` "
            f"(or: sudo apt-get install --no-install-recommends {' '.join(missing)})"
        )


def _start_all(stack: Stack, services: list[Service], timeout: float) -> None:
    busy = [s for s in services if _port_in_use(s.address)]
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


def start_stack(
    profile: Profile,
    run_dir: Path,
    *,
    model_dir: Path | None = None,
    rules_dir: Path = RULES_DIR,
    timeout: float = READY_TIMEOUT_SECONDS,
) -> Stack:
    """Render configs for `profile` into `run_dir`, start everything, wait until it is ready.

    On any failure, whatever was started is stopped before the error propagates.
    """
    check_binaries()
    run_dir.mkdir(parents=True, exist_ok=True)
    model_dir = model_dir or run_dir / "model"
    train_if_missing(model_dir)
    prometheus_config, alertmanager_config = render_configs(profile, run_dir, rules_dir)
    stack = Stack(run_dir, profile)
    services = plan(
        profile, run_dir, prometheus_config, alertmanager_config, model_dir, run_dir / "reports"
    )
    _start_all(stack, services, timeout)
    return stack


def start_local(run_dir: Path, model_dir: Path = DEFAULT_MODEL_DIR) -> Stack:
    """`make local`: the LOCAL profile, from the configs in generated/local (never re-rendered)."""
    check_binaries()
    for path in (LOCAL_PROMETHEUS_CONFIG, LOCAL_ALERTMANAGER_CONFIG):
        if not path.exists():
            raise StackError(f"{path.relative_to(ROOT)} is missing: run `make generate`")
    if any((run_dir / "pids").glob("*.pid")):
        raise StackError(f"a native stack is already recorded in {run_dir}: `make local-stop`")
    train_if_missing(model_dir)
    stack = Stack(run_dir, LOCAL)
    services = plan(
        LOCAL,
        run_dir,
        LOCAL_PROMETHEUS_CONFIG,
        LOCAL_ALERTMANAGER_CONFIG,
        model_dir,
        ROOT / "reports",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bikewatch.local", description=__doc__)
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="pids and logs")
    parser.add_argument(
        "--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="model artifact (start)"
    )
    args = parser.parse_args(argv)
    run_dir: Path = args.run_dir.resolve()
    try:
        if args.command == "stop":
            lines = stop_run_dir(run_dir)
            print("\n".join(lines) if lines else f"nothing recorded in {run_dir}/pids")
            return 0
        if args.command == "status":
            return _status(run_dir)
        stack = start_local(run_dir, args.model_dir.resolve())
    except StackError as exc:
        print(f"local: error: {exc}", file=sys.stderr)
        return 1
    for name, service in stack.services.items():
        print(f"{name:14} http://{service.address}")
    print(f"logs and pids: {run_dir}; stop with `make local-stop`")
    return 0


def _status(run_dir: Path) -> int:
    files = sorted((run_dir / "pids").glob("*.pid"))
    if not files:
        print(f"nothing recorded in {run_dir}/pids")
        return 1
    code = 0
    for path in files:
        record = json.loads(path.read_text())
        alive = _is_running(path)
        code |= 0 if alive else 1
        print(f"{path.stem:14} {'running' if alive else 'NOT running'}  http://{record['address']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
