"""A throwaway PostgreSQL cluster for tests: Debian's own binaries, a temporary folder, a free
127.0.0.1 port, trust authentication (it listens on 127.0.0.1 and on a socket in its folder).

PostgreSQL refuses to run as root: under root (containers, CI) the server runs as `nobody`,
the owner of the cluster's folder; otherwise as the current user. Clients (createdb,
psycopg2) connect over TCP as the cluster's superuser `postgres`. A missing PostgreSQL fails
the test (`make system-deps`), never skips it.

Example:
    >>> with throwaway_cluster() as cluster:  # doctest: +SKIP
    ...     uri = cluster.create_database("mlflow")
    >>> uri  # doctest: +SKIP
    'postgresql+psycopg2://postgres@127.0.0.1:40123/mlflow'
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Cluster", "free_port", "postgres_bin", "throwaway_cluster"]

# Debian installs each major version side by side; /usr/local/bin/initdb and friends, where
# present, are links into one of these (or someone else's build): the folder is what we trust.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
BINARIES = ("initdb", "pg_ctl", "postgres", "createdb")
SUPERUSER = "postgres"
# The driver is named: SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which is not
# installed (the `store` extra has psycopg2-binary).
SCHEME = "postgresql+psycopg2"
# The unprivileged account the server runs as when the tests run as root.
RUN_AS = "nobody"
# Seconds pg_ctl waits for the server to accept connections, or to stop.
WAIT = 30


def postgres_bin() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin holding every binary a cluster needs."""
    found = [
        folder / "bin"
        for folder in DEBIAN_ROOT.glob("*")
        if re.fullmatch(r"\d+", folder.name)
        and all(os.access(folder / "bin" / name, os.X_OK) for name in BINARIES)
    ]
    if not found:
        pytest.fail(
            f"PostgreSQL is not installed (no {DEBIAN_ROOT}/<version>/bin with "
            f"{', '.join(BINARIES)}): run `make system-deps`"
        )
    return max(found, key=lambda path: int(path.parent.name))


def free_port() -> int:
    """A TCP port of 127.0.0.1 nobody listens on (free now; the server binds it moments later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its folder (data, socket, log), binaries, port and server user."""

    folder: Path
    bin: Path
    port: int
    # None: the server runs as the current user.
    run_as: str | None

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def uri(self, database: str) -> str:
        return f"{SCHEME}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URI."""
        _run(
            self,
            [self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name],
            as_server=False,
        )
        return self.uri(name)

    def start(self) -> None:
        """Start the server and wait until it accepts connections (again, after `stop`)."""
        # No other address than 127.0.0.1, and only our socket folder: nothing outside this
        # machine (or in /var/run/postgresql) sees the cluster. No fsync: it is thrown away.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(self, [self.bin / "pg_ctl", "start", "-D", self.data, "-l", self.log, "-o", options,
                    "-w", "-t", str(WAIT)])  # fmt: skip

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended); a stopped cluster stays stopped."""
        if (self.data / "postmaster.pid").exists():
            _run(self, [self.bin / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w",
                        "-t", str(WAIT)])  # fmt: skip


def _run(cluster: Cluster, command: list[str | Path], *, as_server: bool = True) -> str:
    """Run one of the binaries (as the server's user unless `as_server` is False); its output,
    or the test fails with it and the server's log."""
    args = [str(part) for part in command]
    if as_server and cluster.run_as is not None:
        args = ["runuser", "-u", cluster.run_as, "--", *args]
    # Our own environment, minus what would point the tools at another server or at root's
    # files (HOME: ~/.psqlrc, ~/.pgpass).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(HOME=str(cluster.folder), LC_ALL="C", LANG="C")
    result = subprocess.run(
        args, cwd=cluster.folder, env=env, capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        log = cluster.log.read_text(errors="replace") if cluster.log.is_file() else "(no log)"
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}\n"
            f"server log:\n{log}"
        )
    return result.stdout


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """initdb, start on a free port, yield; then stop and remove the folder, whatever happened.

    The folder is a fresh one under the system's temporary folder (not pytest's `tmp_path`:
    /tmp/pytest-of-root is closed to `nobody`)."""
    bin_dir = postgres_bin()
    run_as = RUN_AS if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="bikewatch-pg-"))
    cluster = Cluster(folder=folder, bin=bin_dir, port=free_port(), run_as=run_as)
    try:
        cluster.socket_dir.mkdir()
        if run_as is not None:
            account = pwd.getpwnam(run_as)
            for path in (folder, cluster.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        _run(cluster, [
            bin_dir / "initdb", "-D", cluster.data, "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        ])  # fmt: skip
        try:
            cluster.start()
            yield cluster
        finally:
            try:
                cluster.stop()
            finally:
                _kill_leftover(cluster)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _kill_leftover(cluster: Cluster) -> None:
    """If the fast stop failed, end our own postmaster by the pid in its pid file."""
    pid_file = cluster.data / "postmaster.pid"
    if not pid_file.is_file():
        return
    try:
        pid = int(pid_file.read_text().split()[0])
        # Only the postmaster of this cluster (a pid can be reused after a crash).
        if str(cluster.data).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except (ValueError, IndexError, OSError):
        pass
