"""The layers contract (pyproject.toml, import-linter): it holds, and a back-arrow breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.is_file(), "import-linter is not installed: run `make install`"
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=where,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(where)},
    )


@pytest.fixture
def repo(source_copy: Path) -> Path:
    """The layers and the contract, copied: the developer tools join the build's layers."""
    shutil.copytree(ROOT / "devtools", source_copy / "devtools")
    shutil.copytree(ROOT / "flows", source_copy / "flows")
    shutil.copy(ROOT / "pyproject.toml", source_copy / "pyproject.toml")
    return source_copy


def test_the_contract_holds_on_the_repository(repo: Path) -> None:
    result = _lint_imports(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "imports", "broken"),
    [
        ("api/retraining.py", "import rules_py.model", "api is not allowed to import rules_py"),
        ("authoring/promql.py", "import generator.errors", "authoring is not allowed to import"),
        ("rules_py/model.py", "import dashboards_py", "rules_py is not allowed to import"),
        ("generator/generate.py", "import devtools.review", "generator is not allowed to import"),
        ("api/model.py", "import yaml", "api is not allowed to import yaml"),
        ("api/train.py", "import flows.retrain", "api is not allowed to import flows"),
        ("devtools/secrets.py", "import prefect", "devtools is not allowed to import prefect"),
    ],
)
def test_a_back_arrow_breaks_the_contract(
    repo: Path, module: str, imports: str, broken: str
) -> None:
    source = repo / module
    source.write_text(source.read_text() + f"\n{imports}  # a back-arrow, on purpose\n")
    result = _lint_imports(repo)
    assert result.returncode != 0
    assert broken in result.stdout, result.stdout
