"""Every broken dashboard source in broken_dashboards/ yields exactly the finding it declares."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

from bikewatch import dashboard_lint, dashboards

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
def test_case_yields_its_expected_finding_only(name: str, cases: dict[str, ModuleType]) -> None:
    rule, reason = cases[name].EXPECTED
    compiled = dashboards.compile_dashboard(name, cases[name].dashboard)
    findings = dashboard_lint.lint({name: compiled})
    assert findings, f"{name}: the lint found nothing"
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]
    assert all(f.dashboard == name for f in findings)
    assert any(reason in f.reason for f in findings), [str(f) for f in findings]
    # Every finding names a panel, so a reviewer knows where to look.
    assert all(f.panel.startswith("panel ") for f in findings)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_broken_source_fails_the_producer(
    name: str, cases: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package holding only this case, as if it were dashboards_py.
    monkeypatch.setattr(dashboards, "_discover", lambda package: [name])
    monkeypatch.setattr(dashboards, "PACKAGE", PACKAGE)
    rule, _ = cases[name].EXPECTED
    with pytest.raises(dashboards.BuildError) as raised:
        dashboards.outputs()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{rule}: {name}: panel ")
