"""The README's first command on a machine without Docker: `make all` says so in one line,
starts the native stack on its usual ports, and `make stop` stops it.

Runs in a copy of the repository (the same virtual environment) so the developer's run/ and
artifacts/ are left alone; it needs the native stack's ports (8080, 9090, 9093, 9100) free.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from authoring.profiles import LOCAL
from devtools import secrets

# Its own worker: it needs the native stack's fixed ports, which no other test binds (the
# other stacks take free ports).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-make-all")]

ROOT = Path(__file__).resolve().parents[2]


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


@pytest.fixture
def clone(tmp_path: Path) -> Iterator[Path]:
    """The tracked files, copied with their times (so make sees the venv as current)."""
    busy = [a for a in LOCAL.targets().values() if _listening(a)]
    if busy:
        pytest.fail(f"the native stack's ports are taken: {busy} (`make stop` if it is yours)")
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "bikewatch"
    for name in filter(None, files):
        target = copy / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / os.fsdecode(name), target)
    # The shared environments are the ones under test: make must not reinstall them in the copy.
    oldest = None
    for venv in (".venv", ".venv-flows"):
        (copy / venv).symlink_to(ROOT / venv)
        stamp = (ROOT / venv / ".installed").stat()
        oldest = stamp if oldest is None or stamp.st_mtime_ns < oldest.st_mtime_ns else oldest
    assert oldest is not None
    for dependency in ("pyproject.toml", "api/requirements.lock", "flows/requirements.lock"):
        os.utime(copy / dependency, ns=(oldest.st_atime_ns, oldest.st_mtime_ns - 1))
    try:
        yield copy
    finally:
        subprocess.run(["make", "-s", "stop"], cwd=copy, capture_output=True, check=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _secrets_are_generated_private_and_wired(clone: Path, env: dict[str, str]) -> None:
    """`make all` drew the secrets into .env and secrets/ (owner-only), never into generated/;
    the API requires them and the native Alertmanager sends its token."""
    values = secrets.read_values(clone / ".env")
    assert _mode(clone / ".env") == 0o600 and _mode(clone / "secrets") == 0o700
    for key, name in secrets.SECRET_FILES.items():
        assert _mode(clone / "secrets" / name) == 0o600
        assert (clone / "secrets" / name).read_text().strip() == values[key]
        for path in (clone / "generated").rglob("*"):
            assert not path.is_file() or values[key] not in path.read_text(), path
    api = f"http://{LOCAL.api}"
    assert httpx.post(f"{api}/evaluate", json={"data": []}).status_code == 401
    assert httpx.post(f"{api}/alerts", json={"version": "4"}).status_code == 401
    # An alert through the native Alertmanager reaches the webhook, authenticated.
    probe = [{"labels": {"alertname": "MakeAllProbe", "severity": "critical"}}]
    assert httpx.post(f"http://{LOCAL.alertmanager}/api/v2/alerts", json=probe).status_code == 200
    deadline = time.monotonic() + 60
    while not any(
        d["alertname"] == "MakeAllProbe"
        for d in httpx.get(f"{api}/alerts/decisions").json()["decisions"]
    ):
        assert time.monotonic() < deadline, "Alertmanager's notification never reached /alerts"
        time.sleep(1)
    # `make evaluation` sends the key from secrets/.
    evaluated = subprocess.run(
        ["make", "evaluation"], cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert evaluated.stdout.count("Evaluated Items") == 3, evaluated.stdout


def test_make_all_without_docker_runs_the_native_stack_and_make_stop_stops_it(
    clone: Path,
) -> None:
    path = ":".join(p for p in os.environ["PATH"].split(":") if not (Path(p) / "docker").exists())
    env = {**os.environ, "PATH": path}
    started = subprocess.run(
        ["make", "all"], cwd=clone, env=env, capture_output=True, text=True, timeout=600
    )
    assert started.returncode == 0, started.stdout + started.stderr
    notices = [line for line in started.stderr.splitlines() if line.startswith("make all:")]
    assert notices == [
        "make all: no `docker` command on the PATH: starting the native stack instead (make local)"
    ]
    assert httpx.get(f"http://{LOCAL.api}/ready", timeout=5).status_code == 200
    assert httpx.get(f"http://{LOCAL.prometheus}/-/ready", timeout=5).status_code == 200
    _secrets_are_generated_private_and_wired(clone, env)
    stopped = subprocess.run(
        ["make", "stop"], cwd=clone, env=env, capture_output=True, text=True, timeout=120
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped" in stopped.stdout
    assert not [a for a in LOCAL.targets().values() if _listening(a)]
