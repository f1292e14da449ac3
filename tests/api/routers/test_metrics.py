"""GET /metrics under `uvicorn --workers 2` (multiprocess mode): counters are exact totals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.metrics import API_REQUESTS
from api.multiprocess import MULTIPROCESS_ENV
from api.schemas import EXAMPLE_HOUR as GOOD

ROOT = Path(__file__).resolve().parents[3]
REQUESTS = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "uvicorn exited"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{url} not ready within {timeout} s")


def _counter(text: str, endpoint: str, method: str, status: str) -> float:
    wanted = (
        f'{API_REQUESTS.name}{{endpoint="{endpoint}",method="{method}",status_code="{status}"}}'
    )
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(wanted)]
    assert len(values) == 1, f"{wanted} appears {len(values)} times"
    return values[0]


def test_two_workers_report_exact_totals(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "prometheus-multiproc"
    folder.mkdir()
    port = _free_port()
    env = {**os.environ, MULTIPROCESS_ENV: str(folder), "MODEL_DIR": str(model_dir)}
    # Nothing here evaluates: no worker imports Evidently.
    env["EVALUATION_WORKER_START"] = "first_use"
    command = [
        sys.executable, "-m", "uvicorn", "api.main:app", "--workers", "2", "--host", "127.0.0.1",
        "--port", str(port), "--app-dir", str(ROOT), "--log-level", "warning",
    ]  # fmt: skip
    # Own session: stopping the group stops the supervisor and both workers.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base + "/ready", process)

        # No keep-alive: a new connection per request, so the kernel spreads them over both
        # workers.
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=base, limits=no_reuse, timeout=30) as http:

            def send(_: int) -> int:
                return http.post("/predict", json=GOOD).status_code

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(send, range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        pids = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
        assert len(pids) == 2, f"both workers served requests: {pids}"
        for _ in range(4):  # whichever worker answers, the totals are the same
            text = httpx.get(base + "/metrics", timeout=30).text
            assert _counter(text, "/predict", "POST", "200") == REQUESTS
            assert "_created" not in text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
