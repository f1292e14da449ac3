"""Golden cases of the rules compiler: one file per feature in cases/, one parametrised test.

A case `cases/<name>.py` exports `groups`; `cases/<name>.expected` holds what the compiler
writes for them (every file, under a `### path` header), or `BuildError: <reason>` for a broken
source. Adding a case is adding a file; refresh the expectations with
`UPDATE_GOLDENS=1 .venv/bin/pytest tests/rules/test_compiler.py`, then review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bikewatch import generate
from bikewatch.generate import BuildError, write
from rules_py import compiler
from rules_py.dsl import RuleGroup

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("UPDATE_GOLDENS") == "1"


def _groups(case: Path) -> tuple[RuleGroup, ...]:
    spec = importlib.util.spec_from_file_location(f"rules_case_{case.stem}", case)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.groups)


def render(case: Path) -> str:
    try:
        files = compiler.compile_groups(_groups(case))
    except BuildError as exc:
        return f"BuildError: {exc}\n"
    return "".join(f"### {path}\n{text}" for path, text in sorted(files.items()))


@pytest.mark.parametrize("case", sorted(CASES.glob("*.py")), ids=lambda p: p.stem)
def test_case(case: Path) -> None:
    expected = case.with_suffix(".expected")
    actual = render(case)
    if UPDATE:
        expected.write_text(actual, encoding="utf-8")
    assert expected.exists(), f"no {expected.name}: run with UPDATE_GOLDENS=1 and review it"
    assert actual == expected.read_text(encoding="utf-8")
    if case.stem.startswith("error_"):
        assert actual.startswith("BuildError: ") and actual.count("\n") == 1, actual
    else:
        assert not actual.startswith("BuildError"), actual


def test_every_expectation_has_its_case() -> None:
    assert {p.stem for p in CASES.glob("*.expected")} == {p.stem for p in CASES.glob("*.py")}


def test_a_broken_rule_fails_generate_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = _groups(CASES / "error_unknown_metric.py")
    monkeypatch.setattr(compiler, "_source_groups", lambda: broken)
    monkeypatch.setattr(generate, "PRODUCERS", ("rules_py.compiler:outputs",))
    out = tmp_path / "generated"
    assert generate.main(["--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == ("generate: error: case/BikeModelRmseHigh: names unknown metric model_rmse\n"), (
        err
    )
    assert not out.exists()  # nothing written on a broken source


@pytest.mark.parametrize(
    "case",
    [p for p in sorted(CASES.glob("*.py")) if not p.stem.startswith("error_")],
    ids=lambda p: p.stem,
)
def test_case_output_passes_promtool(case: Path, tmp_path: Path) -> None:
    """The goldens are not just stable but valid: promtool checks the rules, runs the tests."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: run `make system-deps`"
    write(compiler.compile_groups(_groups(case)), tmp_path)
    rules = sorted((tmp_path / "prometheus/rules").glob("*.yml"))
    tests = sorted((tmp_path / "prometheus/tests").glob("*.yml"))
    for args in (["check", "rules", *rules], ["test", "rules", *tests]):
        if len(args) > 2:
            result = subprocess.run(
                [promtool, *map(str, args)], cwd=tmp_path, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stdout + result.stderr
