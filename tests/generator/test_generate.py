"""The build's entry point: atomic writes, a check naming stale, missing and extra files, and
one line naming the source file and the reason (exit 2, nothing written) for a broken source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import generate
from generator.generate import EXIT_BROKEN_SOURCE


def test_write_replaces_the_folder_exactly(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    generate.write({"a/x.json": "1\n", "b.yml": "2\n"}, out)
    generate.write({"a/x.json": "3\n"}, out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a/x.json"
    ]
    assert (out / "a/x.json").read_text() == "3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["generated"]  # no temporary left behind


def test_check_names_stale_missing_and_extra_files(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    generate.write({"same.txt": "s\n", "stale.txt": "old\n", "extra.txt": "e\n"}, out)
    problems = generate.check({"same.txt": "s\n", "stale.txt": "new\n", "new.txt": "n\n"}, out)
    assert [p.splitlines()[0] for p in problems] == [
        "extra (no source writes it): generated/extra.txt",
        "missing: generated/new.txt",
        "stale: generated/stale.txt",
    ]
    assert "-old" in problems[2] and "+new" in problems[2]


def test_check_passes_on_a_current_tree(tmp_path: Path) -> None:
    files = {"x/y.txt": "y\n"}
    generate.write(files, tmp_path / "g")
    assert generate.check(files, tmp_path / "g") == []


def test_cli_check_fails_with_the_fixing_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate.main(["--check", "--out", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err
    assert "missing: generated/README.md" in err
    assert "run `make generate`" in err


def test_cli_writes_then_checks_clean(tmp_path: Path) -> None:
    out = tmp_path / "g"
    assert generate.main(["--out", str(out)]) == 0
    assert generate.main(["--check", "--out", str(out)]) == 0


def test_two_builds_are_byte_identical(generated_files: dict[str, str]) -> None:
    assert generate.build_all() == generated_files


def test_generated_tree_is_current(generated_files: dict[str, str]) -> None:
    """The committed generated/ is the golden: regenerate and compare (fix: make generate)."""
    problems = generate.check(generated_files)
    assert problems == [], "\n".join(problems) + "\nrun `make generate`"


def _break(copy: Path, path: str, old: str, new: str) -> None:
    source = copy / path
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds {old!r}: update this test"
    source.write_text(text.replace(old, new, 1), encoding="utf-8")


def _generate(copy: Path) -> subprocess.CompletedProcess[str]:
    """`python -m generator` in the copy, as `make generate` runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "generator", "--out", str(copy / "generated")],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


BROKEN_SOURCES = [
    pytest.param(
        "rules_py/model.py",
        'JOB)} > {_max_age}"',
        'JOB)} > > {_max_age}"',
        "rules_py/model.py: bike-model-alerts/BikeEvaluationStale: does not parse",
        id="broken PromQL in a rule",
    ),
    pytest.param(
        "dashboards_py/model_performance.py",
        "query(_job_value(MODEL_MAE)),",
        'query(promql.Expr("model_mae", "rentals")),',
        "dashboards_py/model_performance.py: unknown-metric: model_performance: panel ",
        id="unknown metric in a dashboard",
    ),
    pytest.param(
        "rules_py/RUNBOOK.md",
        "### BikeModelRmseHigh",
        "### Model error",
        "rules_py/model.py: BikeModelRmseHigh: runbook anchor #bikemodelrmsehigh is not a "
        "heading of RUNBOOK.md",
        id="missing runbook section",
    ),
    pytest.param(
        "rules_py/model.py",
        "config.DRIFT_SHARE_THRESHOLD,",
        "30,",
        "rules_py/model.py: bike-model-alerts/BikeDataDriftDetected: threshold 30 is outside "
        "model_drifted_features_ratio's range [0, 1] (ratio)",
        id="a ratio threshold above 1",
    ),
    pytest.param(
        "rules_py/model.py",
        "config.MODEL_RMSE_MAX,",
        "1.5e6,\n    unit_typo=1,",
        "rules_py/model.py: TypeError: gauge_alert() got an unexpected keyword argument",
        id="a source that does not import",
    ),
]


@pytest.mark.parametrize(("path", "old", "new", "message"), BROKEN_SOURCES)
def test_a_broken_source_fails_with_one_line_exit_2_and_writes_nothing(
    source_copy: Path, path: str, old: str, new: str, message: str
) -> None:
    _break(source_copy, path, old, new)
    result = _generate(source_copy)
    assert result.returncode == EXIT_BROKEN_SOURCE, result.stdout + result.stderr
    assert result.stderr.startswith(f"generate: error: {message}"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (source_copy / "generated").exists()


def test_the_copy_builds_cleanly_before_it_is_broken(source_copy: Path) -> None:
    """The control for the cases above: the untouched copy builds (exit 0)."""
    result = _generate(source_copy)
    assert result.returncode == 0, result.stderr
    assert (source_copy / "generated" / "README.md").is_file()
