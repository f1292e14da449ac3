"""Discovery: every module of both source packages, found and read the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import BuildError
from generator.sources import discover

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_is_discovered_and_helpers_are_not() -> None:
    sources = discover()
    dashboards = {p.stem for p in (ROOT / "dashboards_py").glob("[!_]*.py")}
    assert set(sources.dashboards) == dashboards
    rule_files = {f"rules_py/{p.name}" for p in (ROOT / "rules_py").glob("[!_]*.py")}
    assert {sources.origin(g.name) for g in sources.groups} == rule_files
    assert "_shared_panels" not in sources.dashboards
    assert sources.origin("model_performance") == "dashboards_py/model_performance.py"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = 1\n", "must export `groups`"),
        ("groups = (1, 2)\n", "`groups` must be a tuple of RuleGroup"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
)
def test_a_broken_rule_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, reason: str
) -> None:
    name = "rules_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "area.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(BuildError) as raised:
        discover(rules_package=name)
    assert f"{name}/area.py: {reason}" in str(raised.value)
