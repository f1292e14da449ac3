"""`make bench`: /predict against a bare FastAPI app under wrk, and start-to-ready time.

Each section is a function in SECTIONS printing its own figures; `--only NAME` runs one.
Targets (from the issue) are printed beside the figures, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.schemas import EXAMPLE_HOUR

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
# The body both apps receive.
PREDICT_BODY = EXAMPLE_HOUR
CONCURRENCIES = (1, 16)
ROUNDS = 3
SETTLE_SECONDS = 8
TARGET_RATIO_C16 = 0.75
TARGET_P99_C16_MS = 30.0
TARGET_START_TO_READY_S = 3.0


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_for(url: str, status: int = 200, timeout: float = 30.0, step: float = 0.01) -> float:
    """Seconds until `url` answers `status`; raises TimeoutError."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if http_status(url) == status:
            return time.perf_counter() - start
        time.sleep(step)
    raise TimeoutError(f"{url} did not answer {status} within {timeout} s")


@contextmanager
def uvicorn(
    app: str, env: dict[str, str], *, workers: int = 1, app_dir: Path = ROOT
) -> Iterator[tuple[str, subprocess.Popen[bytes], float]]:
    """Run `uvicorn app` on a free port; yields (base URL, process, start time)."""
    port = free_port()
    command = [
        PYTHON, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--no-access-log", "--log-level", "warning",
        "--app-dir", str(app_dir),
    ]  # fmt: skip
    started = time.perf_counter()
    # A new session: stopping it stops the workers uvicorn forks.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", process, started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk(url: str, body: Mapping[str, object], connections: int, seconds: int) -> WrkResult:
    """POST `body` to `url` with wrk at `connections` concurrency."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(body))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        print(f"  wrk socket errors: {socket_errors.group(1)}")
    return WrkResult(
        rps, _percentile(out, "50"), _percentile(out, "99"), int(errors.group(1)) if errors else 0
    )


def _percentile(out: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {pct}% line in wrk output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def base_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # The model folder each section trains (no MLflow), unless the section says otherwise.
    env["MODEL_SOURCE"] = "folder"
    # The API's INFO lines (a line per evaluation) would bury the figures.
    env["LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


_model_dir: Path | None = None


def trained_model_dir() -> Path:
    """A model trained once per benchmark run (default parameters) in a temp folder."""
    global _model_dir
    if _model_dir is None:
        folder = Path(tempfile.mkdtemp(prefix="bikewatch-bench-"))
        subprocess.run([PYTHON, "-m", "api.train", "--no-register", "--model-dir", str(folder)],
                       cwd=ROOT,
                       env=base_env(), check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        _model_dir = folder
    return _model_dir


def _median(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.requests_per_second for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
    )


def bench_predict(seconds: int) -> bool:
    """/predict (the real API, one worker) against the bare app, both under wrk.

    Both servers run at once and the loads alternate, round after round, so a burst of other
    work on the machine hits both sides alike; each figure is the median of ROUNDS runs.
    """
    print(f"== /predict vs a bare FastAPI app (wrk, 1 uvicorn worker each, median of {ROUNDS})")
    env = base_env(MODEL_DIR=str(trained_model_dir()))
    bench_dir = Path(__file__).parent
    runs: dict[tuple[str, int], list[WrkResult]] = {}
    with (
        uvicorn("api.main:app", env) as (api_url, _, _),
        uvicorn("bare_app:app", env, app_dir=bench_dir) as (bare_url, _, _),
    ):
        wait_for(api_url + "/ready")
        wait_for(bare_url + "/openapi.json")
        # Start-up work that outlives /ready (the evaluation worker's warm-up import) would
        # compete with the first load for the CPU: measure the steady state.
        time.sleep(SETTLE_SECONDS)
        targets = {"/predict": api_url + "/predict", "bare": bare_url + "/predict"}
        for url in targets.values():
            wrk(url, PREDICT_BODY, 4, 2)  # warm-up: label children, pydantic, sockets
        for _ in range(ROUNDS):
            for connections in CONCURRENCIES:
                for label, url in targets.items():
                    result = wrk(url, PREDICT_BODY, connections, seconds)
                    runs.setdefault((label, connections), []).append(result)
    medians = {key: _median(results) for key, results in runs.items()}
    for (label, connections), result in sorted(medians.items()):
        print(
            f"  {label:<9} c={connections:<3} {result.requests_per_second:9.0f} req/s  "
            f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
            + (f"  NON-2XX {result.errors}" if result.errors else "")
        )
    ok = not any(result.errors for result in medians.values())
    for connections in CONCURRENCIES:
        ratio = (
            medians[("/predict", connections)].requests_per_second
            / medians[("bare", connections)].requests_per_second
        )
        print(f"  ratio /predict / bare at c={connections}: {ratio:.2f}")
    ratio16 = (
        medians[("/predict", 16)].requests_per_second / medians[("bare", 16)].requests_per_second
    )
    ok &= _verdict("ratio at c=16", ratio16, ">=", TARGET_RATIO_C16)
    ok &= _verdict(
        "/predict p99 at c=16 (ms)", medians[("/predict", 16)].p99_ms, "<=", TARGET_P99_C16_MS
    )
    return ok


def bench_start_to_ready(seconds: int) -> bool:
    """Process start to /ready 200 with a trained artifact (median and worst of 3)."""
    print("== start -> /ready 200 (uvicorn, 1 worker, trained artifact)")
    env = base_env(MODEL_DIR=str(trained_model_dir()))
    times = []
    for _ in range(3):
        with uvicorn("api.main:app", env) as (url, _, started):
            wait_for(url + "/ready", timeout=60)
            times.append(time.perf_counter() - started)
    print(f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s")
    return _verdict("start -> ready worst (s)", max(times), "<=", TARGET_START_TO_READY_S)


TARGET_GENERATE_S = 2.0


def bench_generate(seconds: int) -> bool:
    """`make generate` for everything: a fresh interpreter, into a temp folder (median of 5)."""
    print("== make generate (python -m generator, fresh process, median and worst of 5)")
    times = []
    with tempfile.TemporaryDirectory(prefix="bikewatch-gen-") as out:
        for _ in range(5):
            started = time.perf_counter()
            subprocess.run([PYTHON, "-m", "generator", "--out", out], cwd=ROOT,
                           env=base_env(), check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            times.append(time.perf_counter() - started)
    print(f"  median {statistics.median(times):.2f} s, worst {max(times):.2f} s")
    return _verdict("generate median (s)", statistics.median(times), "<=", TARGET_GENERATE_S)


def _verdict(what: str, value: float, op: str, target: float) -> bool:
    ok = value >= target if op == ">=" else value <= target
    print(f"  {'PASS' if ok else 'MISS'} {what}: {value:.2f} (target {op} {target})")
    return ok


TARGET_EVALUATE_S = 1.0
TARGET_PREDICT_P99_DURING_EVALUATION_MS = 50.0
EVALUATE_ROUNDS = 5


def bench_evaluate(seconds: int) -> bool:
    """/evaluate of the exam's week-1 payload once warm, and /predict p99 while evaluations run.

    /predict is driven by wrk on one connection (closed loop) for `seconds`, first alone, then
    while a thread posts the week-1 payload back to back: the ratio shows what evaluations
    cost /predict.
    """
    import threading

    import httpx

    from api.clients.batches import WEEKLY_PERIODS, evaluation_payload
    from api.data import load_hourly

    print(f"== /evaluate week1_february after warm-up (median of {EVALUATE_ROUNDS}), /predict p99")
    payload = evaluation_payload(
        load_hourly(),
        "week1_february",
        *WEEKLY_PERIODS["week1_february"],
    )
    with (
        tempfile.TemporaryDirectory(prefix="bikewatch-reports-") as reports,
        uvicorn(
            "api.main:app", base_env(MODEL_DIR=str(trained_model_dir()), REPORTS_DIR=reports)
        ) as (url, _, _),
        httpx.Client(base_url=url, timeout=300) as client,
    ):
        wait_for(url + "/ready", timeout=60)
        started = time.perf_counter()
        # The first evaluation waits for the worker's Evidently import and warm-up.
        client.post("/evaluate", json=payload).raise_for_status()
        print(f"  first evaluation (worker warming up): {time.perf_counter() - started:.2f} s")
        times = []
        for _ in range(EVALUATE_ROUNDS):
            started = time.perf_counter()
            client.post("/evaluate", json=payload).raise_for_status()
            times.append(time.perf_counter() - started)
        print(
            f"  /evaluate 235 rows: median {statistics.median(times):.2f} s, "
            f"worst {max(times):.2f} s"
        )
        idle = wrk(url + "/predict", PREDICT_BODY, 1, seconds)
        stop = threading.Event()
        statuses: list[int] = []

        def evaluate_until_stopped() -> None:
            while not stop.is_set():
                statuses.append(client.post("/evaluate", json=payload).status_code)

        thread = threading.Thread(target=evaluate_until_stopped)
        thread.start()
        try:
            busy = wrk(url + "/predict", PREDICT_BODY, 1, seconds)
        finally:
            stop.set()
            thread.join()
    print(f"  /predict c=1 alone:            p50 {idle.p50_ms:6.2f} ms  p99 {idle.p99_ms:6.2f} ms")
    print(
        f"  /predict c=1 with evaluations: p50 {busy.p50_ms:6.2f} ms  p99 {busy.p99_ms:6.2f} ms "
        f"({len(statuses)} evaluations overlapped, statuses {sorted(set(statuses))}; "
        f"p99 ratio {busy.p99_ms / idle.p99_ms:.1f}x)"
    )
    ok = _verdict("/evaluate week 1 median (s)", statistics.median(times), "<=", TARGET_EVALUATE_S)
    ok &= _verdict(
        "/predict p99 during evaluation (ms)",
        busy.p99_ms,
        "<=",
        TARGET_PREDICT_P99_DURING_EVALUATION_MS,
    )
    return ok and not busy.errors and set(statuses) == {200}


TARGET_PREDICT_P99_DURING_FLOOD_MS = 50.0
FLOOD_CLIENTS = 16
FLOOD_ROWS = 10_000


def bench_evaluate_flood(seconds: int) -> bool:
    """/predict p99 (wrk, one connection) while 16 clients post 10k-row /evaluate batches: one
    evaluation runs, the others are refused with 429 before their body is read. The target is
    for clients that wait Retry-After; clients that retry at once are measured too (a client
    resending 2 MB bodies in a loop is a bandwidth flood: a proxy's rate limit, not the API,
    is the answer to that)."""
    ok = True
    for honour in (True, False):
        ok &= _flood(seconds, honour=honour) or not honour
    return ok


def _flood(seconds: int, *, honour: bool) -> bool:
    import threading

    import httpx

    from api.clients.batches import evaluation_payload
    from api.data import load_hourly

    how = "waiting Retry-After" if honour else "retrying at once"
    print(f"== /predict p99, {FLOOD_CLIENTS} clients posting {FLOOD_ROWS}-row /evaluate ({how})")
    payload = evaluation_payload(
        load_hourly(), "flood", "2011-02-01", "2012-12-31", sample_size=FLOOD_ROWS
    )
    body = json.dumps(payload).encode()
    with (
        tempfile.TemporaryDirectory(prefix="bikewatch-reports-") as reports,
        uvicorn(
            "api.main:app", base_env(MODEL_DIR=str(trained_model_dir()), REPORTS_DIR=reports)
        ) as (url, _, _),
    ):
        wait_for(url + "/ready", timeout=60)
        idle = wrk(url + "/predict", PREDICT_BODY, 1, seconds)
        stop = threading.Event()
        statuses: list[int] = []
        headers = {"Content-Type": "application/json"}

        def flood() -> None:
            with httpx.Client(base_url=url, timeout=300) as client:
                while not stop.is_set():
                    response = client.post("/evaluate", content=body, headers=headers)
                    statuses.append(response.status_code)
                    if honour and response.status_code == 429:
                        # As a client should (and api.clients.fire_alert does).
                        stop.wait(float(response.headers["Retry-After"]))

        threads = [threading.Thread(target=flood) for _ in range(FLOOD_CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)  # the flood under way
            busy = wrk(url + "/predict", PREDICT_BODY, 1, seconds)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(f"  /predict c=1 alone:       p50 {idle.p50_ms:6.2f} ms  p99 {idle.p99_ms:6.2f} ms")
    print(
        f"  /predict c=1 under flood: p50 {busy.p50_ms:6.2f} ms  p99 {busy.p99_ms:6.2f} ms "
        f"(p99 ratio {busy.p99_ms / idle.p99_ms:.1f}x; /evaluate answers {counts})"
    )
    if not honour:
        return True  # measured, not a target
    ok = _verdict(
        "/predict p99 under the /evaluate flood (ms)",
        busy.p99_ms,
        "<=",
        TARGET_PREDICT_P99_DURING_FLOOD_MS,
    )
    return ok and not busy.errors and set(counts) <= {200, 429}


ALERT_POSTS = 110
# Parsing a 2 MB body costs a peak the allocator keeps for the next one; what must not happen is
# growth per post (the history kept what it was sent): RSS after the last accepted post against
# RSS after the first 20.
TARGET_RSS_GROWTH_PER_90_POSTS_MB = 10.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_alerts_flood(seconds: int) -> bool:
    """The /alerts memory probe: 110 posts of a 1.99 MB alertname (refused), then 110 of the
    largest payloads the schema accepts, each alert new (so each is a decision), then eight
    concurrent reads of the history. RSS of the API process before and after."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    del seconds
    print(f"== /alerts: {ALERT_POSTS} oversized and {ALERT_POSTS} largest accepted payloads")
    token = "bench-token"
    env = base_env(MODEL_DIR=str(trained_model_dir()), ALERT_WEBHOOK_TOKEN=token)
    with tempfile.TemporaryDirectory(prefix="bikewatch-state-") as state:
        env["STATE_DIR"] = state
        with uvicorn("api.main:app", env) as (url, process, _):
            wait_for(url + "/ready", timeout=60)
            auth = {"Authorization": f"Bearer {token}"}
            before = _rss_mb(process.pid)
            huge = {"alertname": "x" * 1_990_000}
            statuses: dict[int, int] = {}
            with httpx.Client(base_url=url, timeout=60, headers=auth) as client:
                for i in range(ALERT_POSTS):
                    code = client.post("/alerts", json=_alerts(huge, i, 1)).status_code
                    statuses[code] = statuses.get(code, 0) + 1
                # 1 KiB per label value (the cap), 60 labels, as many alerts as fit in 2 MB.
                labels = {f"l{j}": "v" * 1024 for j in range(60)}
                for i in range(ALERT_POSTS):
                    # A new alertname each post: each post is a decision, kept in the history.
                    name = f"{i:04d}".ljust(1024, "a")
                    body = _alerts({"alertname": name, **labels}, i, 30)
                    code = client.post("/alerts", json=body).status_code
                    statuses[code] = statuses.get(code, 0) + 1
                    if i == 19:
                        plateau = _rss_mb(process.pid)

                def history(_: int) -> int:
                    return len(client.get("/alerts/decisions").content)

                with ThreadPoolExecutor(8) as pool:
                    sizes = list(pool.map(history, range(8)))
            after = _rss_mb(process.pid)
    print(f"  answers {dict(sorted(statuses.items()))}; history {max(sizes) / 1024:.0f} KiB")
    print(
        f"  RSS {before:.0f} MB before, {plateau:.0f} MB after 20 accepted posts, "
        f"{after:.0f} MB after all and 8 history reads"
    )
    ok = _verdict(
        "RSS growth over the last 90 accepted posts (MB)",
        after - plateau,
        "<=",
        TARGET_RSS_GROWTH_PER_90_POSTS_MB,
    )
    return ok and statuses.get(422) == ALERT_POSTS and statuses.get(200) == ALERT_POSTS


def _alerts(labels: dict[str, str], post: int, count: int) -> dict[str, object]:
    alerts = [
        {
            "status": "firing",
            "labels": {**labels, "retraining_reason": "data_drift"},
            "startsAt": f"2026-11-{1 + post % 28:02d}T{post % 24:02d}:{n % 60:02d}:00Z",
            "fingerprint": f"f{post}x{n}",
        }
        for n in range(count)
    ]
    return {"version": "4", "status": "firing", "alerts": alerts}


SWAPS = 5
SWAP_SECONDS = 30
TARGET_SWAP_P99_FACTOR = 2.0


def bench_swap(seconds: int) -> bool:
    """/predict at c=16 for 30 s while bike-demand@champion changes 5 times (MLflow SQLite
    store, the API following the alias every second): errors, and p99 against the steady p99."""
    from api.registry import Registry
    from api.train import register

    print(f"== /predict at c=16 while the champion changes {SWAPS} times ({SWAP_SECONDS} s)")
    work = Path(tempfile.mkdtemp(prefix="bikewatch-bench-swap-"))
    try:
        store = Registry(f"sqlite:///{work / 'mlflow.db'}", work / "artifacts")
        other = work / "other-model"
        subprocess.run([PYTHON, "-m", "api.train", "--no-register", "--n-estimators", "10",
                        "--model-dir", str(other)], cwd=ROOT, env=base_env(), check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        models = [trained_model_dir(), other]

        def promote(folder: Path) -> str:
            card = json.loads((folder / "model_card.json").read_text())
            return register(store, folder, card, promote=True, trigger="bench").version

        promote(models[0])
        env = base_env(
            MODEL_SOURCE="registry",
            MLFLOW_TRACKING_URI=store.tracking_uri,
            MLFLOW_ARTIFACTS_DIR=str(work / "artifacts"),
            STATE_DIR=str(work / "state"),
            MODEL_POLL_SECONDS="1",
        )
        with uvicorn("api.main:app", env) as (url, _, _):
            wait_for(url + "/ready", timeout=60)
            time.sleep(SETTLE_SECONDS)
            wrk(url + "/predict", PREDICT_BODY, 4, 2)
            steady = wrk(url + "/predict", PREDICT_BODY, 16, 10)
            # The load runs in a thread while this one promotes.
            with ThreadPoolExecutor(1) as pool:
                load = pool.submit(wrk, url + "/predict", PREDICT_BODY, 16, SWAP_SECONDS)
                served = []
                for swap in range(SWAPS):
                    time.sleep(SWAP_SECONDS / (SWAPS + 1))
                    version = promote(models[(swap + 1) % 2])
                    served.append(_wait_version(url, version))
                swapping = load.result(timeout=SWAP_SECONDS + 30)
            reloads = _metric(url, 'model_reloads_total{outcome="success"}')
            failed = _metric(url, 'model_reloads_total{outcome="failed"}')
        # A restart serves the cached champion at once, whether MLflow answers or not.
        restarts = {}
        down = f"http://127.0.0.1:{free_port()}"
        for label, uri in (("registry up", store.tracking_uri), ("registry down", down)):
            with uvicorn("api.main:app", {**env, "MLFLOW_TRACKING_URI": uri}) as (again, _, t0):
                wait_for(again + "/ready", timeout=60)
                restarts[label] = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"  steady    {steady.requests_per_second:9.0f} req/s  p99 {steady.p99_ms:7.2f} ms")
    print(
        f"  swapping  {swapping.requests_per_second:9.0f} req/s  p99 {swapping.p99_ms:7.2f} ms  "
        f"non-2xx {swapping.errors}"
    )
    print(
        f"  champion changes served: {sum(served)}/{SWAPS}; model_reloads_total success "
        f"{reloads:.0f}, failed {failed:.0f}"
    )
    for label, elapsed in restarts.items():
        print(f"  restart -> /ready from the cache, {label}: {elapsed:.2f} s")
    ok = _verdict("non-2xx while swapping", swapping.errors, "<=", 0)
    ok &= _verdict(
        "restart -> ready, worst (s)", max(restarts.values()), "<=", TARGET_START_TO_READY_S
    )
    ok &= _verdict("changes served", sum(served), ">=", SWAPS)
    factor = swapping.p99_ms / steady.p99_ms
    ok &= _verdict("p99 swapping / steady", factor, "<=", TARGET_SWAP_P99_FACTOR)
    return ok


def _wait_version(url: str, version: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "/ready", timeout=2) as response:
            if json.load(response).get("registry_version") == version:
                return True
        time.sleep(0.1)
    return False


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return float("nan")


def bench_live(seconds: int) -> bool:
    """The live drift window's cost on /predict (LIVE_DRIFT_WINDOW on vs 0, both servers up,
    loads alternating) and the time of one scoring of a full window."""
    print(f"== live drift window: /predict with it vs without (wrk c=16, median of {ROUNDS})")
    model = trained_model_dir()
    on_env = base_env(MODEL_DIR=str(model))
    off_env = base_env(MODEL_DIR=str(model), LIVE_DRIFT_WINDOW="0")
    runs: dict[str, list[WrkResult]] = {}
    with (
        uvicorn("api.main:app", on_env) as (on_url, _, _),
        uvicorn("api.main:app", off_env) as (off_url, _, _),
    ):
        wait_for(on_url + "/ready")
        wait_for(off_url + "/ready")
        time.sleep(SETTLE_SECONDS)
        targets = {"window on": on_url + "/predict", "window off": off_url + "/predict"}
        for url in targets.values():
            wrk(url, PREDICT_BODY, 4, 2)
        for _ in range(ROUNDS):
            for label, url in targets.items():
                runs.setdefault(label, []).append(wrk(url, PREDICT_BODY, 16, seconds))
    medians = {label: _median(results) for label, results in runs.items()}
    for label, result in medians.items():
        print(
            f"  {label:<10} {result.requests_per_second:9.0f} req/s  p50 {result.p50_ms:6.2f} ms"
            f"  p99 {result.p99_ms:6.2f} ms"
            + (f"  NON-2XX {result.errors}" if result.errors else "")
        )
    on, off = medians["window on"], medians["window off"]
    ratio = on.requests_per_second / off.requests_per_second
    print(f"  throughput with / without the window: {ratio:.3f}")
    print(f"  p99 with / without: {on.p99_ms / off.p99_ms:.2f}")

    from api.config import FEATURES
    from api.data import load_hourly
    from api.live_drift import LiveWindow, ReferenceSummary
    from api.model import load_bundle

    summary = ReferenceSummary.from_csv(load_bundle(model).reference_path)
    july = load_hourly().loc["2011-07-01":"2011-08-31"][list(FEATURES)].to_numpy(float)[:1000]
    summary.score(july)  # scipy's first import
    started = time.perf_counter()
    for _ in range(20):
        summary.score(july)
    scoring_ms = (time.perf_counter() - started) / 20 * 1000
    window = LiveWindow(1000)
    started = time.perf_counter()
    for row in july.tolist() * 20:
        window.add(row)
    add_us = (time.perf_counter() - started) / (20 * len(july)) * 1e6
    print(f"  one scoring of a full window (1,000 rows, 11 features): {scoring_ms:.1f} ms")
    print(f"  one /predict input into the window: {add_us:.2f} us")
    ok = not (on.errors or off.errors)
    ok &= _verdict("throughput with / without the window", ratio, ">=", 0.95)
    return ok


def bench_hotpath(seconds: int) -> bool:
    """Where a /predict's time goes in-process (tests/bench/hotpath.py, in a child): the bare
    app and bike-api per request, and the walk of the trees inside bike-api's request."""
    print(f"== /predict in-process, no network (ASGI calls, median of {ROUNDS} x 5,000)")
    child = subprocess.run(
        [PYTHON, str(Path(__file__).parent / "hotpath.py")],
        cwd=ROOT,
        env=base_env(MODEL_DIR=str(trained_model_dir())),
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(child.stdout.splitlines()[-1])
    bare, predict, walk = figures["bare_us"], figures["predict_us"], figures["walk_us"]
    print(f"  bare app  {bare:7.1f} us a request")
    print(f"  /predict  {predict:7.1f} us a request; the trees' walk in it {walk:5.1f} us")
    # Throughput ratios, as the wrk section reports them: time per request inverted.
    unwalked = bare / (predict - walk)
    print(f"  ratio /predict / bare: {bare / predict:.2f}; without the walk: {unwalked:.2f}")
    return True


def bench_replicas(seconds: int) -> bool:
    """Series per replica and one Prometheus's cost at 3, 50 and 150 simulated replicas."""
    from replicas import bench_replicas as run  # tests/bench/replicas.py, beside this file

    ok: bool = run(seconds)
    return ok


# Helpers add their sections here: name -> function(seconds) returning whether targets were met.
SECTIONS: dict[str, Callable[[int], bool]] = {
    "predict": bench_predict,
    "start": bench_start_to_ready,
    "generate": bench_generate,
    "evaluate": bench_evaluate,
    "flood": bench_evaluate_flood,
    "alerts": bench_alerts_flood,
    "swap": bench_swap,
    "live": bench_live,
    "replicas": bench_replicas,
    "hotpath": bench_hotpath,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk not found: run `make system-deps` (Debian's wrk)", file=sys.stderr)
        return 2
    results = {name: SECTIONS[name](args.seconds) for name in args.only or SECTIONS}
    if _model_dir is not None:
        shutil.rmtree(_model_dir, ignore_errors=True)
    missed = [name for name, ok in results.items() if not ok]
    print("all targets met" if not missed else f"targets missed in: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
