"""The drift monitor: decision line and exit code for a stable and a drifted pair of periods."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.evaluation import monitor

# Evidently is imported in this process (~6 s): under xdist its tests share one worker.
pytestmark = pytest.mark.xdist_group("evidently-in-process")

# The course's monitor-flow line, which its tooling matches.
LAST_LINE = re.compile(
    r"^\[Evidently\] report_html=(?P<html>\S+) report_json=(?P<json>\S+) "
    r"drift_share=(?P<share>[01]\.\d\d) -> (?P<decision>NO_ACTION|RETRAINING_TRIGGERED) "
    r"drift_share=(?P=share) (?P<op><|>=) (?P<threshold>[01]\.\d\d) "
    r"\(target_drift=(?P<target>\d+\.\d\d)\)$"
)


def _run(
    capsys: pytest.CaptureFixture[str],
    dataset_source: str,
    model_dir: Path,
    tmp_path: Path,
    *args: str,
) -> tuple[int, list[str]]:
    code = monitor.main(
        [
            "--source",
            dataset_source,
            "--model-dir",
            str(model_dir),
            "--reports-dir",
            str(tmp_path / "reports"),
            *args,
        ]
    )
    return code, capsys.readouterr().out.splitlines()


def test_a_february_week_needs_no_action(
    capsys: pytest.CaptureFixture[str], dataset_source: str, model_dir: Path, tmp_path: Path
) -> None:
    code, lines = _run(
        capsys,
        dataset_source,
        model_dir,
        tmp_path,
        "--current-start",
        "2011-02-08",
        "--current-end",
        "2011-02-14",
    )
    last = LAST_LINE.match(lines[-1])
    assert last is not None, lines[-1]
    assert last["decision"] == monitor.NO_ACTION
    assert code == monitor.EXIT_NO_ACTION == 0
    assert float(last["share"]) < 0.3
    assert (last["op"], last["threshold"]) == ("<", "0.30")
    assert Path(last["html"]).is_file() and Path(last["json"]).is_file()
    assert any(line.startswith("[monitor] model ") and "RMSE" in line for line in lines)
    assert any("target drift: mean cnt" in line for line in lines)


def test_july_triggers_simulated_retraining(
    capsys: pytest.CaptureFixture[str], dataset_source: str, tmp_path: Path
) -> None:
    # No model here: the monitor reports the drift alone, which is what it decides on.
    code, lines = _run(
        capsys,
        dataset_source,
        tmp_path / "no-model",
        tmp_path,
        "--current-start",
        "2011-07-01",
        "--current-end",
        "2011-07-31",
    )
    last = LAST_LINE.match(lines[-1])
    assert last is not None, lines[-1]
    assert last["decision"] == monitor.RETRAINING_TRIGGERED
    assert code == monitor.EXIT_RETRAINING == 3
    assert float(last["share"]) >= 0.3
    assert (last["op"], last["threshold"]) == (">=", "0.30")
    assert float(last["target"]) > 1  # July's mean rentals are several times January's
    assert any("Simulated: no retraining job was launched" in line for line in lines)
    assert any("no model, drift only" in line for line in lines)
    # Target drift: July's mean hourly rentals are several times January's.
    assert any(re.search(r"target drift: .*\(\d{3}\.\d% of the reference mean\)", x) for x in lines)


def test_a_threshold_above_the_share_turns_july_into_no_action(
    capsys: pytest.CaptureFixture[str], dataset_source: str, tmp_path: Path
) -> None:
    code, lines = _run(
        capsys,
        dataset_source,
        tmp_path / "no-model",
        tmp_path,
        "--current-start",
        "2011-07-01",
        "--current-end",
        "2011-07-07",
        "--threshold",
        "0.9",
    )
    assert code == monitor.EXIT_NO_ACTION
    assert "-> NO_ACTION drift_share=" in lines[-1] and "< 0.90 (target_drift=" in lines[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--current-start", "2011-02-30"), "not a date"),
        (("--current-start", "2011-03-01", "--current-end", "2011-02-01"), "is after end"),
        (("--current-start", "2013-01-01", "--current-end", "2013-01-31"), "has 0 rows"),
    ],
)
def test_bad_periods_exit_1_with_a_reason(
    args: tuple[str, ...],
    message: str,
    capsys: pytest.CaptureFixture[str],
    dataset_source: str,
    tmp_path: Path,
) -> None:
    code = monitor.main(["--source", dataset_source, "--reports-dir", str(tmp_path), *args])
    assert code == monitor.EXIT_ERROR
    assert message in capsys.readouterr().err


def test_a_threshold_out_of_range_is_a_usage_error(dataset_source: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        monitor.main(["--source", dataset_source, "--threshold", "0"])
    assert exit_info.value.code == 2
