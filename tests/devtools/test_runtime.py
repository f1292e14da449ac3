"""`make all` picks Docker Compose only when the CLI, its compose plugin and an engine answer.

No Docker engine runs here: the cases where one answers use a stand-in `docker` on the PATH
that answers as the real CLI would; the cases without one use the machine as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import runtime

ROOT = Path(__file__).resolve().parents[2]


def _fake_docker(folder: Path, compose: bool, engine: bool) -> Path:
    folder.mkdir(exist_ok=True)
    script = folder / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = compose ] && exit {0 if compose else 1}\n'
        f'[ "$1" = info ] && exit {0 if engine else 1}\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return folder


def _path_without_docker() -> str:
    keep = [p for p in os.environ["PATH"].split(":") if not (Path(p) / "docker").exists()]
    return ":".join(keep)


def _choose(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devtools.runtime"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=True,
    )


def test_without_docker_the_native_stack_runs_with_a_one_line_notice() -> None:
    result = _choose(_path_without_docker())
    assert result.stdout == "local\n"
    assert result.stderr.count("\n") == 1
    assert "no `docker` command" in result.stderr and "make local" in result.stderr


@pytest.mark.parametrize(
    ("compose", "engine", "choice", "why"),
    [
        (False, True, "local", "no compose plugin"),
        (True, False, "local", "no Docker engine answers"),
        (True, True, "compose", ""),
    ],
)
def test_compose_needs_the_plugin_and_an_engine(
    tmp_path: Path, compose: bool, engine: bool, choice: str, why: str
) -> None:
    folder = _fake_docker(tmp_path / "bin", compose, engine)
    result = _choose(f"{folder}:{_path_without_docker()}")
    assert result.stdout == f"{choice}\n"
    assert why in result.stderr
    assert (result.stderr == "") == (choice == "compose")


def test_this_machines_docker_is_judged_as_it_is() -> None:
    choice, why = runtime.choose()
    if shutil.which("docker") is None:
        assert (choice, why) == ("local", "no `docker` command on the PATH")
    else:
        assert choice in ("compose", "local") and why
