"""Finds the sources: every module of `dashboards_py` and of `rules_py`, discovered alike.

A module whose name starts with `_` is a helper, not a source. Each source module exports one
name (`dashboard`, or `groups`) and does nothing else on import; any error while importing or
reading it is that file's build failure, reported as one line naming the file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from grafanalib import core as g

from authoring.rules_dsl import RuleGroup
from generator.errors import BuildError

__all__ = ["DASHBOARDS_PACKAGE", "RULES_PACKAGE", "Sources", "discover", "source_path"]

DASHBOARDS_PACKAGE = "dashboards_py"
RULES_PACKAGE = "rules_py"
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sources:
    """What the sources define: dashboards by module name, rule groups in module order, and the
    file each came from (for error messages)."""

    dashboards: dict[str, g.Dashboard]
    groups: tuple[RuleGroup, ...]
    origins: dict[str, str]  # dashboard module name or rule group name -> source file

    def origin(self, name: str) -> str:
        return self.origins.get(name, name)


def source_path(file: Path) -> str:
    """A source file as messages name it: relative to the repository when it lives there."""
    file = file.resolve()
    return file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)


def _modules(package: str) -> Iterator[tuple[str, str, ModuleType]]:
    """(module name, source file, module) of every source module of `package`, by name."""
    root = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        where = source_path(Path(getattr(info.module_finder, "path", ".")) / f"{info.name}.py")
        try:
            module = importlib.import_module(f"{package}.{info.name}")
        except BuildError as exc:
            raise BuildError(f"{where}: {exc}") from exc
        except Exception as exc:  # any error in a source is that source's build failure
            raise BuildError(f"{where}: {_one_line(exc)}") from exc
        yield info.name, where, module


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"


def _export(where: str, module: ModuleType, name: str, kind: Any) -> Any:
    value = getattr(module, name, None)
    if not isinstance(value, kind):
        raise BuildError(f"{where}: must export `{name}` ({getattr(kind, '__name__', kind)})")
    return value


def discover(
    dashboards_package: str = DASHBOARDS_PACKAGE, rules_package: str = RULES_PACKAGE
) -> Sources:
    """Import every source module; BuildError (naming the file) on the first broken one."""
    dashboards: dict[str, g.Dashboard] = {}
    groups: list[RuleGroup] = []
    origins: dict[str, str] = {}
    for name, where, module in _modules(dashboards_package):
        dashboards[name] = _export(where, module, "dashboard", g.Dashboard)
        origins[name] = where
    for _, where, module in _modules(rules_package):
        exported = _export(where, module, "groups", tuple)
        if not all(isinstance(group, RuleGroup) for group in exported):
            raise BuildError(f"{where}: `groups` must be a tuple of RuleGroup")
        for group in exported:
            groups.append(group)
            origins.setdefault(group.name, where)
    return Sources(dashboards, tuple(groups), origins)
