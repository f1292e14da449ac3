"""The `monitor` flow (Prefect, in its own environment .venv-flows) says what `make drift-report`
says for the same windows: the same lines, the same decision line, the same exit code, and its
HTML and JSON reports on disk. July against January drifts; a February week does not. Run as
`make monitor` runs it: a plain local process (Prefect's temporary server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.evaluation import monitor

ROOT = Path(__file__).resolve().parents[2]
FLOWS_PYTHON = ROOT / ".venv-flows" / "bin" / "python"
# The report paths differ between two runs by their folder and time stamp, nothing else.
REPORT_PATHS = re.compile(r"report_(?P<kind>html|json)=(?P<path>\S+)")


def _start(
    python: Path | str, module: str, reports_dir: Path, args: list[str], env: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(python), "-m", module, "--reports-dir", str(reports_dir), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, list[str], str]:
    try:
        stdout, stderr = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stdout.splitlines(), stderr


def _without_paths(line: str) -> str:
    return REPORT_PATHS.sub(r"report_\g<kind>=PATH", line)


def _report_paths(line: str) -> dict[str, Path]:
    return {m["kind"]: Path(m["path"]) for m in REPORT_PATHS.finditer(line)}


@pytest.mark.parametrize(
    ("current", "with_model", "decision", "exit_code"),
    [
        # July against January: the season moved (drift-report's own July case, no model).
        (
            ("2011-07-01", "2011-07-31"),
            False,
            monitor.RETRAINING_TRIGGERED,
            monitor.EXIT_RETRAINING,
        ),
        # A February week: the weather and calendar stay close (drift-report's no-drift case).
        (("2011-02-08", "2011-02-14"), True, monitor.NO_ACTION, monitor.EXIT_NO_ACTION),
    ],
    ids=["july-drifts", "february-week-does-not"],
)
def test_the_flow_decides_and_reports_as_drift_report_does(
    current: tuple[str, str],
    with_model: bool,
    decision: str,
    exit_code: int,
    dataset_source: str,
    model_dir: Path,
    tmp_path: Path,
) -> None:
    assert FLOWS_PYTHON.is_file(), "the flows' environment is missing: run `make flows-env`"
    args = [
        "--source",
        dataset_source,
        "--model-dir",
        str(model_dir if with_model else tmp_path / "no-model"),
        "--current-start",
        current[0],
        "--current-end",
        current[1],
    ]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    # Both at once: the flow spends most of its time starting Prefect's temporary server.
    flow_run = _start(FLOWS_PYTHON, "flows.monitor", tmp_path / "flow-reports", args, env)
    drift_run = _start(sys.executable, "api.evaluation.monitor", tmp_path / "reports", args, env)
    drift_code, drift_lines, drift_err = _finish(drift_run)
    flow_code, flow_lines, flow_err = _finish(flow_run)

    assert drift_code == exit_code, "\n".join(drift_lines) + drift_err[-3000:]
    assert flow_code == exit_code, "\n".join(flow_lines) + flow_err[-3000:]
    assert f"-> {decision} drift_share=" in flow_lines[-1]
    assert _without_paths(flow_lines[-1]) == _without_paths(drift_lines[-1])
    # Every line before it too: the model's scores, the drifted features, the target drift.
    assert [_without_paths(x) for x in flow_lines] == [_without_paths(x) for x in drift_lines]

    flow_reports, drift_reports = _report_paths(flow_lines[-1]), _report_paths(drift_lines[-1])
    for kind in ("html", "json"):
        path = flow_reports[kind]
        assert path.parent == tmp_path / "flow-reports" and path.is_file()
        # <UTC time>-monitor-<first day>-<last day>.<kind>: the same label as drift-report's.
        assert path.name.split("-", 1)[1] == drift_reports[kind].name.split("-", 1)[1]
    # The flow ran its steps as Prefect tasks, on Prefect's temporary server.
    for step in ("load_data", "select_periods", "build_reports", "decide"):
        assert re.search(rf"Task run '{step}-\w+' - Finished in state Completed", flow_err), step
