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
import yaml

from bikewatch import local
from bikewatch.local import Service, Stack, StackError, free_port
from bikewatch.profiles import LOCAL, Profile

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
    assert local._gone(child)


def test_a_reused_pid_is_left_alone(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        (pids / "prometheus.pid").write_text(
            json.dumps({"pid": other.pid, "argv": ["prometheus", "--x"], "address": "x:1"})
        )
        lines = local.stop_run_dir(tmp_path)
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
    lines = sorted(local.stop_run_dir(tmp_path))
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


def test_missing_debian_packages_are_named_with_the_command_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError) as err:
        local.check_binaries()
    message = str(err.value)
    for package in local.DEBIAN_BINARIES:
        assert package in message
    assert "make system-deps" in message and "--no-install-recommends" in message


def test_configs_are_compiled_for_the_profile_with_the_generated_rules(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:1001",
        node_exporter="127.0.0.1:1002",
        prometheus="127.0.0.1:1003",
        alertmanager="127.0.0.1:1004",
        grafana="127.0.0.1:1005",
        scrape_interval="1s",
        evaluation_interval="2s",
    )
    rules = tmp_path / "rules"
    prometheus_path, alertmanager_path = local.render_configs(profile, tmp_path / "run", rules)
    prometheus = yaml.safe_load(prometheus_path.read_text())
    assert prometheus["global"] == {"scrape_interval": "1s", "evaluation_interval": "2s"}
    assert prometheus["rule_files"] == [f"{rules.resolve()}/*.yml"]
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0]
        for job in prometheus["scrape_configs"]
    }
    assert targets == profile.targets()
    alertmanager = yaml.safe_load(alertmanager_path.read_text())
    urls = [h["url"] for r in alertmanager["receivers"] for h in r["webhook_configs"]]
    assert urls == ["http://127.0.0.1:1001/alerts"]


def test_the_service_plan_binds_loopback_and_turns_clustering_off(tmp_path: Path) -> None:
    services = local.plan(LOCAL, tmp_path, Path("p.yml"), Path("a.yml"), Path("m"), Path("r"))
    assert [s.name for s in services] == ["node-exporter", "alertmanager", "bike-api", "prometheus"]
    for service in services:
        assert service.address.startswith("127.0.0.1:")
    alertmanager = next(s for s in services if s.name == "alertmanager")
    assert "--cluster.listen-address=" in alertmanager.argv
    api = next(s for s in services if s.name == "bike-api")
    assert api.ready_path == "/ready" and api.env["MODEL_DIR"] == "m"
    assert "api.train" not in api.argv


def test_grafana_provisioning_follows_the_profile(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:2001",
        node_exporter="127.0.0.1:2002",
        prometheus="127.0.0.1:2003",
        alertmanager="127.0.0.1:2004",
        grafana="127.0.0.1:2005",
    )
    out = local.render_grafana_provisioning(profile, tmp_path)
    kinds = {p.parent.name for p in out.rglob("*.y*ml")}
    assert kinds == {"datasources", "dashboards", "alerting"}
    datasources = [
        d
        for f in (out / "datasources").glob("*.y*ml")
        for d in yaml.safe_load(f.read_text())["datasources"]
    ]
    assert {d["url"] for d in datasources} == {"http://127.0.0.1:2003", "http://127.0.0.1:2004"}
    providers = [
        p
        for f in (out / "dashboards").glob("*.y*ml")
        for p in yaml.safe_load(f.read_text())["providers"]
    ]
    assert [p["options"]["path"] for p in providers] == [str(local.GRAFANA_DASHBOARDS)]
    contact_urls = {
        r["settings"]["url"]
        for f in (out / "alerting").glob("*.y*ml")
        for point in yaml.safe_load(f.read_text()).get("contactPoints", [])
        for r in point["receivers"]
    }
    assert contact_urls <= {"http://127.0.0.1:2004"}


def test_grafana_is_skipped_without_a_binary_and_needs_a_password_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert local.grafana_service(LOCAL, tmp_path) is None
    fake = tmp_path / "grafana"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv("GRAFANA_ADMIN_PASSWORD", raising=False)
    with pytest.raises(StackError, match="GRAFANA_ADMIN_PASSWORD"):
        local.grafana_service(LOCAL, tmp_path)
