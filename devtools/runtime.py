"""Which stack `make all` runs here: `python3 -m devtools.runtime` prints `compose` or `local`.

Docker Compose when the `docker` CLI, its compose plugin and a Docker engine all answer; else the
native stack (`make local`), with one line on stderr saying what is missing. Standard library
only: it runs before anything is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

__all__ = ["COMPOSE", "LOCAL", "choose", "main"]

COMPOSE = "compose"
LOCAL = "local"
# `docker info` waits for an engine that is not there; a few seconds means it is not.
CHECK_TIMEOUT_SECONDS = 10.0


def _answers(*argv: str) -> bool:
    try:
        result = subprocess.run(
            argv, capture_output=True, timeout=CHECK_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def choose() -> tuple[str, str]:
    """(`compose` or `local`, why): what `make all` should start on this machine."""
    docker = shutil.which("docker")
    if docker is None:
        return LOCAL, "no `docker` command on the PATH"
    if not _answers(docker, "compose", "version"):
        return LOCAL, "`docker` has no compose plugin (`docker compose version` fails)"
    if not _answers(docker, "info"):
        return LOCAL, "no Docker engine answers (`docker info` fails)"
    return COMPOSE, "Docker Compose and a Docker engine answer"


def main() -> int:
    choice, why = choose()
    if choice == LOCAL:
        print(f"make all: {why}: starting the native stack instead (make local)", file=sys.stderr)
    print(choice)
    return 0


if __name__ == "__main__":
    sys.exit(main())
