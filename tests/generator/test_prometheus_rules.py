"""Golden cases of the rules compiler: one file per feature in rule_cases/, one parametrised
test.

A case `rule_cases/<name>.py` exports `groups`; `rule_cases/<name>.expected` holds what the
compiler writes for them (every file, under a `### path` header), or `BuildError: <reason>` for
a broken source. Adding a case is adding a file; refresh the expectations with
`UPDATE_GOLDENS=1 .venv/bin/pytest tests/generator/test_prometheus_rules.py`, then review the diff.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from authoring.rules_dsl import RuleGroup
from generator.errors import BuildError
from generator.generate import write
from generator.prometheus_rules import compile_groups

CASES = Path(__file__).parent / "rule_cases"
UPDATE = os.environ.get("UPDATE_GOLDENS") == "1"


def _groups(case: Path) -> tuple[RuleGroup, ...]:
    spec = importlib.util.spec_from_file_location(f"rules_case_{case.stem}", case)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.groups)


def render(case: Path) -> str:
    try:
        files = compile_groups(_groups(case))
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


@pytest.mark.parametrize(
    "case",
    [p for p in sorted(CASES.glob("*.py")) if not p.stem.startswith("error_")],
    ids=lambda p: p.stem,
)
def test_case_output_passes_promtool(case: Path, tmp_path: Path) -> None:
    """The goldens are not just stable but valid: promtool checks the rules, runs the tests."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: run `make system-deps`"
    write(compile_groups(_groups(case)), tmp_path)
    rules = sorted((tmp_path / "prometheus/rules").glob("*.yml"))
    tests = sorted((tmp_path / "prometheus/tests").glob("*.yml"))
    for args in (["check", "rules", *rules], ["test", "rules", *tests]):
        if len(args) > 2:
            result = subprocess.run(
                [promtool, *map(str, args)], cwd=tmp_path, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stdout + result.stderr
