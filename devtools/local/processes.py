"""Processes of the native stack: started in their own process groups, recorded in pid files,
stopped exactly (a pid is signalled only while it still runs the recorded command line).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from authoring.profiles import Profile

__all__ = [
    "POLL_SECONDS",
    "READY_TIMEOUT_SECONDS",
    "ROOT",
    "STOP_TIMEOUT_SECONDS",
    "Service",
    "Stack",
    "StackError",
    "free_port",
    "is_running",
    "loopback_profile",
    "port_in_use",
    "split_address",
    "stop_run_dir",
]

ROOT = Path(__file__).resolve().parents[2]
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
    # Seconds to wait for it to be ready, when it needs more than the stack's timeout.
    ready_timeout: float | None = None

    @property
    def ready_url(self) -> str:
        return f"http://{self.address}{self.ready_path}"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for tests; the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def loopback_profile(name: str, interval: str, api_replicas: int = 1) -> Profile:
    """A profile of every service on its own free 127.0.0.1 port (`api_replicas` API replicas),
    scraped and evaluated every `interval`: a stack that tests and benchmarks start beside
    whatever else runs."""

    def address() -> str:
        return f"127.0.0.1:{free_port()}"

    apis = tuple(address() for _ in range(api_replicas))
    return Profile(
        name=name,
        api=apis[0],
        api_replicas=apis if api_replicas > 1 else (),
        node_exporter=address(),
        prometheus=address(),
        alertmanager=address(),
        grafana=address(),
        mlflow=address(),
        prefect=address(),
        retrain_worker=address(),
        scrape_interval=interval,
        evaluation_interval=interval,
    )


def port_in_use(address: str) -> bool:
    host, port = split_address(address)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers themselves bind: a port in TIME_WAIT is free to them.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


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
        if port_in_use(service.address):
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
        self.wait_ready(service, max(timeout, service.ready_timeout or 0.0), proc)

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
        return {p.stem: is_running(p) for p in sorted((self.run_dir / "pids").glob("*.pid"))}

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


def is_running(pid_file: Path) -> bool:
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
