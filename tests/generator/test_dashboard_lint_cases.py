"""Every broken dashboard source in broken_dashboards/ yields exactly the finding it declares."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

from generator import dashboard_json, dashboard_lint
from generator.errors import BuildError
from generator.generate import build_all
from generator.sources import Sources

CASES_DIR = Path(__file__).parent
PACKAGE = "broken_dashboards"
CASE_NAMES = sorted(
    m.name for m in pkgutil.iter_modules([str(CASES_DIR / PACKAGE)]) if not m.name.startswith("_")
)


@pytest.fixture
def cases(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    monkeypatch.syspath_prepend(str(CASES_DIR))
    return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in CASE_NAMES}


def test_there_are_cases_for_each_required_rule() -> None:
    # The issue names these defects; each must have a case file here.
    for required in (
        "bad_promql",
        "unknown_metric",
        "overlap",
        "missing_unit",
        "counter_without_rate",
        "lost_key",
    ):
        assert required in CASE_NAMES


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_yields_its_expected_finding_only(
    name: str, cases: dict[str, ModuleType], known: set[str]
) -> None:
    rule, reason = cases[name].EXPECTED
    compiled = dashboard_json.compile_dashboard(name, cases[name].dashboard)
    findings = dashboard_lint.lint({name: compiled}, known)
    assert findings, f"{name}: the lint found nothing"
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]
    assert all(f.dashboard == name for f in findings)
    assert any(reason in f.reason for f in findings), [str(f) for f in findings]
    # Every finding names a panel, so a reviewer knows where to look.
    assert all(f.panel.startswith("panel ") for f in findings)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_broken_source_fails_the_build_naming_its_file(
    name: str, cases: dict[str, ModuleType], sources: Sources
) -> None:
    # The real sources plus this case, as if it were a module of dashboards_py.
    broken = Sources(
        {**sources.dashboards, name: cases[name].dashboard},
        sources.groups,
        {**sources.origins, name: f"{PACKAGE}/{name}.py"},
    )
    rule, _ = cases[name].EXPECTED
    with pytest.raises(BuildError) as raised:
        build_all(broken)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{PACKAGE}/{name}.py: {rule}: {name}: panel ")
