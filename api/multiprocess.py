"""Metrics of several uvicorn workers (`PROMETHEUS_MULTIPROC_DIR`): one truth across workers.

prometheus-client keeps each worker's values in files of that folder, and /metrics sums them.
Two things it leaves to us:
- a new run must not inherit the last run's files (its counters would carry on, its gauges
  linger): the first worker of a run empties the folder, the others find it theirs;
- a worker killed without a clean exit (`kill -9`, the OOM killer) leaves its live gauges
  (requests in flight, model loaded) in the sums forever: each scrape drops those of workers
  that no longer run. Their counters stay: what they counted did happen.

A run is the uvicorn process group (the master and its workers share it), recognised by its
leader's pid and start time, so a reused pid is not mistaken for the same run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from pathlib import Path

from prometheus_client import multiprocess

from api import logs

__all__ = ["MULTIPROCESS_ENV", "drop_dead_workers", "multiprocess_dir", "prepare"]

# prometheus-client's own variable (read when it is imported): set, every worker writes its
# values to files in that folder, and /metrics sums them.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
OWNER_FILE = ".bike-api-run"
LOCK_FILE = ".bike-api-lock"
# prometheus-client names a live gauge's file `gauge_live<mode>_<pid>.db`.
_LIVE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")

log = logs.get("metrics")


def multiprocess_dir() -> Path | None:
    folder = os.environ.get(MULTIPROCESS_ENV)
    return Path(folder) if folder else None


def _start_time(pid: int) -> str:
    """When `pid` started (clock ticks since boot), or "" where /proc cannot say."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _run() -> dict[str, object]:
    leader = os.getpgrp()
    return {"leader": leader, "started": _start_time(leader)}


def prepare(folder: Path) -> bool:
    """Make `folder` this run's: emptied when it holds another run's files. True when emptied.

    Called by each worker before it creates a metric; the first of a run empties it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        owner = folder / OWNER_FILE
        mine = _run()
        try:
            theirs = json.loads(owner.read_text())
        except (OSError, ValueError):
            theirs = None
        if theirs == mine:
            return False
        stale = sorted(folder.glob("*.db"))
        for path in stale:
            path.unlink(missing_ok=True)
        owner.write_text(json.dumps(mine) + "\n")
    if stale:
        log.info("metrics folder %s: removed %d files of an earlier run", folder, len(stale))
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def drop_dead_workers(folder: Path) -> list[int]:
    """Remove the live gauges of workers that no longer run; the pids dropped."""
    dead = {
        int(match.group(1))
        for path in folder.glob("gauge_live*.db")
        if (match := _LIVE_FILE.match(path.name))
    }
    dead = {pid for pid in dead if not _alive(pid)}
    for pid in sorted(dead):
        multiprocess.mark_process_dead(pid, str(folder))
        log.warning("worker %d is gone: its live gauges left the sums", pid)
    return sorted(dead)
