"""The native stack's process handling: start, readiness, pid files, and stopping only our own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from authoring.profiles import LOCAL
from devtools.local import processes
from devtools.local.processes import Service, Stack, StackError, free_port

SERVER = (sys.executable, "-m", "http.server", "--bind", "127.0.0.1")


def web_server(name: str, port: int) -> Service:
    return Service(name, (*SERVER, str(port)), f"127.0.0.1:{port}", "/")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path / "run", LOCAL)
    try:
        yield s
    finally:
        s.stop_all()


def test_start_waits_for_ready_and_stop_ends_the_process(stack: Stack) -> None:
    port = free_port()
    stack.start(web_server("web", port), timeout=30)
    record = json.loads(stack.pid_file("web").read_text())
    assert record["argv"][1:] == [*SERVER[1:], str(port)]
    assert stack.running() == {"web": True}
    assert stack.stop("web") == f"web: stopped (pid {record['pid']})"
    assert not stack.pid_file("web").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(record["pid"], 0)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_stop_signals_the_whole_process_group(stack: Stack, tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    port = free_port()
    # A parent that starts a child, as uvicorn's workers or a shell wrapper would.
    script = (
        "import subprocess, sys, pathlib; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"pathlib.Path({str(child_pid_file)!r}).write_text(str(c.pid)); "
        f"import runpy; sys.argv = ['http.server', '--bind', '127.0.0.1', '{port}']; "
        "runpy.run_module('http.server', run_name='__main__')"
    )
    stack.start(Service("parent", (sys.executable, "-c", script), f"127.0.0.1:{port}", "/"))
    child = int(child_pid_file.read_text())
    stack.stop("parent")
    assert processes._gone(child)


def test_a_reused_pid_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        (pids / "prometheus.pid").write_text(
            json.dumps({"pid": other.pid, "argv": ["prometheus", "--x"], "address": "x:1"})
        )
        lines = processes.stop_run_dir(tmp_path)
        assert lines == [f"prometheus: pid {other.pid} now runs something else; left alone"]
        assert other.poll() is None
        assert not (pids / "prometheus.pid").exists()
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait()


def test_stale_and_broken_pid_files_are_cleared(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert done.returncode == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (pids / "old.pid").write_text(json.dumps({"pid": dead.pid, "argv": ["x"], "address": "a:1"}))
    (pids / "junk.pid").write_text("not json")
    lines = sorted(processes.stop_run_dir(tmp_path))
    assert lines[0].startswith("junk: unreadable pid file removed")
    assert lines[1] == f"old: was not running (pid {dead.pid})"
    assert list(pids.iterdir()) == []


def test_a_busy_port_is_refused_before_anything_starts(stack: Stack) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=rf"web: 127\.0\.0\.1:{port} is already in use"):
            stack.start(web_server("web", port))
    assert stack.running() == {}


def test_a_process_that_dies_during_start_is_reported_with_its_log(stack: Stack) -> None:
    crash = Service(
        "crash",
        (sys.executable, "-c", "import sys; print('bad config'); sys.exit(3)"),
        f"127.0.0.1:{free_port()}",
        "/",
    )
    with pytest.raises(StackError, match=r"crash exited with code 3 before it was ready") as err:
        stack.start(crash, timeout=30)
    assert "bad config" in str(err.value)
