"""The API against its own OpenAPI document: schemathesis generates requests for every operation
(examples, boundary values, fuzzing; valid and invalid) with a fixed seed, against bike-api
under real uvicorn with its secrets set, serving the champion of a real MLflow store (SQLite).
No answer may be a 5xx, and every answer, valid or not, must be one the document declares, with
the schema it declares.

Bounded: MAX_EVALUATION_ROWS is 60 here (the document states the configured cap, so the
boundary cases stay small) and each operation gets at most MAX_EXAMPLES generated cases.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from api.registry import Registry
from api.train import register
from tests.api.mlflow_store import migrated_store, store, store_uri
from tests.api.routers.test_metrics import _free_port, _wait_ready

__all__ = ["migrated_store", "store", "store_uri"]

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
SEED = 1
MAX_EXAMPLES = 50
REQUEST_TIMEOUT_SECONDS = 60


def test_every_operation_keeps_its_contract(
    model_dir: Path, tmp_path: Path, store: Registry, store_uri: str
) -> None:
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert binary, "schemathesis is missing: `make install` installs the dev tools"
    card = json.loads((model_dir / "model_card.json").read_text())
    register(store, model_dir, card, promote=True, trigger="contract")
    port = _free_port()
    env = {
        **os.environ,
        "MODEL_SOURCE": "registry",
        "MLFLOW_TRACKING_URI": store_uri,
        "MLFLOW_ARTIFACTS_DIR": str(store.artifacts_dir),
        "STATE_DIR": str(tmp_path / "state"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "ALERT_WEBHOOK_TOKEN": "contract-token",
        "EVALUATE_API_KEY": "contract-key",
        "MAX_EVALUATION_ROWS": "60",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [
        sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
        "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        api = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base + "/ready", api)
        events = tmp_path / "events.ndjson"
        arguments = [
            binary, "run", f"{base}/openapi.json",
            "--checks", "all",
            "--seed", str(SEED),
            "--max-examples", str(MAX_EXAMPLES),
            "--workers", "2",
            # The first /evaluate starts the evaluation worker (Evidently's import, ~6 s alone,
            # more on a busy machine): slow by design, not a broken contract. `--checks all`
            # includes schemathesis's 10 s response-time check; speed is `make bench`'s to
            # measure, so its limit is the request timeout, not a guess at CI's load.
            "--request-timeout", str(REQUEST_TIMEOUT_SECONDS),
            "--max-response-time", str(REQUEST_TIMEOUT_SECONDS),
            "--header", "Authorization: Bearer contract-token",
            "--header", "X-API-Key: contract-key",
            "--no-color",
            "--report", "ndjson", "--report-ndjson-path", str(events),
        ]  # fmt: skip
        run = subprocess.run(
            arguments,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=20)
    summary = "\n".join(run.stdout.splitlines()[-25:])
    assert run.returncode == 0, f"schemathesis found failures:\n{run.stdout[-6000:]}"
    scenarios = [
        json.loads(line)["ScenarioFinished"]["recorder"]
        for line in events.read_text().splitlines()
        if line.startswith('{"ScenarioFinished"')
    ]
    operations = {scenario["label"] for scenario in scenarios}
    assert operations >= {"POST /predict", "POST /evaluate", "POST /alerts"}, summary
    assert len(operations) >= 11, (operations, summary)
    cases = sum(len(scenario.get("cases", {})) for scenario in scenarios)
    print(f"{cases} cases over {len(operations)} operations")
    assert "Traceback" not in log.read_text()
    print(summary)
