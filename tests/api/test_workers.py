"""bike-api under real `uvicorn --workers 2`: one truth across workers, and clients that are slow
or go away are neither server errors nor able to hold the API.

- the metrics folder of an earlier run is emptied at start; a worker killed with SIGKILL leaves
  no ghost in `api_active_requests`;
- the same alert sent ten times, over new connections (so to either worker), is one decision;
  every worker answers the same decision history;
- evaluations run one at a time across workers: concurrent ones get 429 and Retry-After at
  once;
- a body that does not arrive gets 408 in REQUEST_BODY_TIMEOUT_SECONDS; a client that closes
  mid-body is counted as 499 `client_closed`, in one log line, with no traceback and no 500.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.clients.batches import WEEKLY_PERIODS, evaluation_payload
from api.data import load_hourly
from api.metrics import API_ACTIVE_REQUESTS, API_ERRORS, API_REQUESTS, MODEL_RETRAINING_DECISIONS
from api.multiprocess import MULTIPROCESS_ENV
from tests.api.routers.test_metrics import _free_port, _wait_ready

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "worker-test-token"
KEY = "worker-test-key"
BODY_TIMEOUT = 1.5
NO_REUSE = httpx.Limits(max_keepalive_connections=0)


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    folder: Path
    log: Path

    def workers(self) -> list[int]:
        """uvicorn's worker processes (multiprocessing spawns them; its resource tracker, also
        a child, is not one)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        return [pid for pid in pids if b"spawn_main" in _cmdline(pid)]

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(self.base + "/metrics", timeout=30).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _start(model_dir: Path, folder: Path, state: Path, log: Path) -> Server:
    port = _free_port()
    env = {
        **os.environ,
        MULTIPROCESS_ENV: str(folder),
        "MODEL_DIR": str(model_dir),
        "STATE_DIR": str(state),
        "REPORTS_DIR": str(state / "reports"),
        "ALERT_WEBHOOK_TOKEN": TOKEN,
        "EVALUATE_API_KEY": KEY,
        "REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        # Each worker's child imports Evidently at its first /evaluate only.
        "EVALUATION_WORKER_START": "first_use",
    }
    command = [
        sys.executable, "-m", "uvicorn", "api.main:app", "--workers", "2", "--host", "127.0.0.1",
        "--port", str(port), "--app-dir", str(ROOT), "--no-access-log",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", process, folder, log)
    _wait_ready(server.base + "/ready", process)
    deadline = time.monotonic() + 30
    while len(server.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    return server


def _stop(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("workers")
    return {"folder": root / "multiproc", "state": root / "state", "log": root / "uvicorn.log"}


@pytest.fixture(scope="module")
def server(model_dir: Path, paths: dict[str, Path]) -> Iterator[Server]:
    paths["folder"].mkdir(exist_ok=True)
    # An earlier run's files, as a restart that reuses the folder finds them.
    (paths["folder"] / "gauge_livesum_999999.db").write_bytes(b"\0" * 8)
    (paths["folder"] / "counter_999999.db").write_bytes(b"\0" * 8)
    running = _start(model_dir, paths["folder"], paths["state"], paths["log"])
    try:
        yield running
    finally:
        _stop(running)


def _alert(starts_at: str) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": "BikeDataDriftDetected", "retraining_reason": "data_drift"},
        "startsAt": starts_at,
        "fingerprint": "drift-1",
    }
    return {"version": "4", "status": "firing", "alerts": [alert]}


def test_an_earlier_runs_files_are_gone_at_start(server: Server) -> None:
    names = {p.name for p in server.folder.iterdir()}
    assert "gauge_livesum_999999.db" not in names and "counter_999999.db" not in names


def test_the_same_alert_ten_times_is_one_decision_and_one_history(server: Server) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.base, limits=NO_REUSE, timeout=30) as http:

        def send(_: int) -> bool:
            response = http.post("/alerts", json=_alert("2026-11-23T09:30:00Z"), headers=auth)
            assert response.status_code == 200, response.text
            return bool(response.json()["retraining_triggered"])

        with ThreadPoolExecutor(5) as pool:
            triggered = list(pool.map(send, range(10)))
        assert triggered.count(True) == 1
        histories = {str(http.get("/alerts/decisions").json()) for _ in range(8)}
    assert len(histories) == 1, "every worker answers the same history"
    labels = {"decision": "RETRAINING_TRIGGERED", "reason": "data_drift"}
    assert server.sample(MODEL_RETRAINING_DECISIONS.name, **labels) == 1.0


def test_evaluations_run_one_at_a_time_across_workers(server: Server, dataset_source: str) -> None:
    name, (start, end) = next(iter(WEEKLY_PERIODS.items()))
    payload = evaluation_payload(load_hourly(dataset_source), name, start, end)
    headers = {"X-API-Key": KEY}
    with httpx.Client(base_url=server.base, limits=NO_REUSE, timeout=120) as http:

        def send(_: int) -> httpx.Response:
            return http.post("/evaluate", json=payload, headers=headers)

        with ThreadPoolExecutor(6) as pool:
            responses = list(pool.map(send, range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [429] * 5, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.headers["Retry-After"].isdigit()


def _read_answer(sock: socket.socket) -> str:
    """One HTTP answer, whole: headers and body may come in separate segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    ]
    while len(body) < (lengths[0] if lengths else 0):
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return (head + b"\r\n\r\n" + body).decode()


def test_a_body_that_does_not_arrive_gets_408_in_time(server: Server) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{"
        )
        answer = _read_answer(sock)
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "REQUEST_BODY_TIMEOUT_SECONDS" in answer
    assert time.monotonic() - started < BODY_TIMEOUT + 5
    assert server.sample(API_ERRORS.name, endpoint="/predict", error_type="timeout") >= 1


def test_a_client_that_closes_mid_body_is_not_a_server_error(server: Server) -> None:
    host, port = server.base.removeprefix("http://").split(":")
    before = server.log.read_text()
    for _ in range(5):
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 200\r\n\r\n{"
            )
            time.sleep(0.1)
    deadline = time.monotonic() + 10
    closed = {"endpoint": "/predict", "method": "POST", "status_code": "499"}
    while server.sample(API_REQUESTS.name, **closed) < 5:
        assert time.monotonic() < deadline, "the five closed requests were not counted"
        time.sleep(0.2)
    server_errors = {"endpoint": "/predict", "error_type": "internal"}
    assert server.sample(API_ERRORS.name, **server_errors) == 0
    assert server.sample(API_ERRORS.name, endpoint="/predict", error_type="client_closed") == 5
    new = server.log.read_text()[len(before) :]
    assert "Traceback" not in new
    assert new.count("client closed the connection") == 5


LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000 (DEBUG|INFO|WARNING|ERROR) bike-api\.\w+ \[\d+\] "
)


def test_every_decision_evaluation_and_model_load_is_one_timestamped_line(server: Server) -> None:
    # After the tests above: one decision (ten posts), one evaluation that ran, two workers.
    lines = [line for line in server.log.read_text().splitlines() if "bike-api." in line]
    assert lines and all(LOG_LINE.match(line) for line in lines), lines[:5]
    assert sum(" INFO bike-api.retraining " in x and "decision:" in x for x in lines) == 1
    assert sum(" INFO bike-api.evaluation " in x and "rows in" in x for x in lines) == 1
    assert sum(" INFO bike-api.app " in x and "loaded from" in x for x in lines) == 2


def test_json_lines_when_log_format_is_json(model_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MODEL_DIR": str(model_dir), "LOG_FORMAT": "json"}
    env["STATE_DIR"] = str(tmp_path)
    env.pop(MULTIPROCESS_ENV, None)
    code = (
        "from fastapi.testclient import TestClient\n"
        "from api.main import app\n"
        "with TestClient(app, base_url='http://localhost'):\n"
        "    pass\n"
    )
    run = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120, check=True,
    )  # fmt: skip
    records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    loaded = [r for r in records if "loaded from" in r["message"]]
    assert len(loaded) == 1
    assert set(loaded[0]) >= {"time", "level", "logger", "pid", "message"}
    assert loaded[0]["level"] == "INFO" and loaded[0]["logger"] == "bike-api.app"


def test_a_killed_worker_leaves_no_ghost_request(server: Server) -> None:
    # Run last in this module: it kills both workers (uvicorn starts new ones).
    host, port = server.base.removeprefix("http://").split(":")
    held = []
    for _ in range(5):
        sock = socket.create_connection((host, int(port)), timeout=30)
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 200\r\n\r\n{"
        )
        held.append(sock)
    try:
        time.sleep(0.3)
        # The five held requests and this scrape.
        assert server.sample(API_ACTIVE_REQUESTS.name) == 6
        old = server.workers()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (len(server.workers()) == 2 and not set(server.workers()) & set(old)):
            assert time.monotonic() < deadline, "uvicorn did not replace its workers"
            time.sleep(0.2)
        _wait_ready(server.base + "/ready", server.process)
        assert server.sample(API_ACTIVE_REQUESTS.name) == 1
    finally:
        for sock in held:
            sock.close()
