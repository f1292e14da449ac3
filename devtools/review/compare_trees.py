"""Compare two `generated/` trees file by file, handing each kind of file to its reviewer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from devtools.review.dashboard_diff import diff_dashboards, load
from devtools.review.kubernetes_diff import diff_objects, object_key
from devtools.review.report import Change, Report, Section, code
from devtools.review.rule_diff import (
    diff_grafana_rules,
    diff_prometheus_rules,
    grafana_groups,
    prometheus_groups,
)
from devtools.review.structure import differences, displayed

__all__ = ["diff_trees"]

# What a config file is, for the reader, from where it lives in generated/.
_CONFIG_KINDS = (
    ("prometheus/tests/", "Rule tests"),
    ("grafana/provisioning/", "Provisioning"),
    ("alertmanager/", "Alertmanager config"),
    ("prometheus/prometheus.yml", "Scrape config"),
)
# Items of config lists, named as a reader knows them, by the key that identifies them.
_ITEM_NAMES = {"scrape_configs": "scrape job", "receivers": "receiver", "datasources": "datasource"}
# The Kubernetes target: its objects are reviewed by kind and name, its other files as configs.
_KUBERNETES_DIR = "kubernetes/"
# libyaml when present: the pure-Python loader takes seconds on the promtool test files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ITEM_PATH = re.compile(r"^(?P<list>[A-Za-z_]+)\[(?P<name>[^\]]*)\](?P<rest>.*)$")


@dataclass
class _Side:
    """One tree, read: dashboards by path, rule groups by name, config files by path."""

    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    prometheus: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    grafana: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    configs: dict[str, Any] = field(default_factory=dict)
    # Kubernetes objects by (kind, name): (path, object).
    kubernetes: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)


def _read(files: dict[str, str]) -> _Side:
    side = _Side()
    for path, text in sorted(files.items()):
        if path.endswith(".json") and path.startswith("grafana/dashboards/"):
            try:
                side.dashboards[path] = load(text)
            except json.JSONDecodeError:
                side.other[path] = text
            continue
        if not path.endswith((".yml", ".yaml")):
            side.other[path] = text
            continue
        try:
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError:
            side.other[path] = text
            continue
        key = object_key(data) if path.startswith(_KUBERNETES_DIR) else None
        if key is not None:
            side.kubernetes[key] = (path, data)
            continue
        prom, graf = prometheus_groups(data), grafana_groups(data)
        for name, group in prom.items():
            side.prometheus[name] = (path, group)
        for name, group in graf.items():
            side.grafana[name] = (path, group)
        if prom or graf:
            data = {k: v for k, v in data.items() if k != "groups"}
            if set(data) <= {"apiVersion"}:
                continue
        side.configs[path] = data
    return side


def _status(before: object, after: object) -> str:
    return "added" if before is None else "removed" if after is None else "changed"


def _renamed_files(before: _Side, after: _Side) -> dict[str, str]:
    """New path -> old path of dashboards whose file was renamed but whose uid stayed."""
    gone = {d.get("uid"): p for p, d in before.dashboards.items() if p not in after.dashboards}
    return {
        path: gone[d.get("uid")]
        for path, d in after.dashboards.items()
        if path not in before.dashboards and d.get("uid") and d.get("uid") in gone
    }


def _dashboard_sections(before: _Side, after: _Side) -> list[Section]:
    sections = []
    renamed = _renamed_files(before, after)
    for path in sorted(set(before.dashboards) | set(after.dashboards)):
        if path in renamed.values():
            continue  # reviewed under its new path
        old_path = renamed.get(path, path)
        old, new = before.dashboards.get(old_path), after.dashboards.get(path)
        shown = new if new is not None else old
        assert shown is not None
        name = str(shown.get("title") or path)
        if old is not None and new is not None:
            changes = diff_dashboards(old, new)
            if old_path != path:
                note = f"moved from file {code(old_path)}"
                changes.insert(0, Change("moved", "dashboard", note=note))
        elif new is not None:
            # A new dashboard: its rows, variables and panels, without the settings noise.
            changes = [
                Change(c.action, c.subject, c.aspect, None, None, c.note, c.group)
                for c in diff_dashboards({}, new)
                if c.action == "added"
            ]
        else:
            changes = []
        if old is None or new is None or changes:
            sections.append(Section("Dashboard", name, path, _status(old, new), tuple(changes)))
    return sections


def _group_sections(
    kind: str,
    before: dict[str, tuple[str, dict[str, Any]]],
    after: dict[str, tuple[str, dict[str, Any]]],
    differ: Any,
) -> list[Section]:
    sections = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        path = (new or old or ("", {}))[0]
        changes: list[Change] = []
        if old is not None and new is not None:
            if old[0] != new[0]:
                changes.append(Change("moved", "group", note=f"moved from file {code(old[0])}"))
            changes += differ(old[1], new[1])
        elif new is not None:
            changes = [c for c in differ({}, new[1]) if c.action == "added"]
        if old is None or new is None or changes:
            status = _status(old, new)
            sections.append(Section(kind, name, path, status, tuple(changes)))
    return sections


def _config_line(path: str, before: Any, after: Any) -> Change:
    """One line per config change; a list item (scrape job, receiver...) is named as such."""
    shown_b, shown_a = displayed(before, after)
    match = _ITEM_PATH.match(path)
    if match and match["list"] in _ITEM_NAMES:
        subject = f"{_ITEM_NAMES[match['list']]} {code(match['name'])}"
        aspect = match["rest"].lstrip(".")
        if not aspect:
            return Change(_status(shown_b, shown_a), subject)
        return Change(_status(shown_b, shown_a), subject, aspect, shown_b, shown_a)
    return Change(_status(shown_b, shown_a), code(path), "", shown_b, shown_a)


def _config_sections(before: _Side, after: _Side) -> list[Section]:
    sections = []
    for path in sorted(set(before.configs) | set(after.configs)):
        kind = next((k for part, k in _CONFIG_KINDS if part in path), "Config")
        has_b, has_a = path in before.configs, path in after.configs
        old, new = before.configs.get(path), after.configs.get(path)
        if not (has_b and has_a):
            status = "added" if has_a else "removed"
            sections.append(Section(kind, path, path, status))
            continue
        found = differences(old, new)
        if kind == "Rule tests":
            # A test case is reviewed in its source next to the alert; here, which cases moved.
            cases = dict.fromkeys(re.split(r"(?<=\])\.", p)[0] for p, _, _ in found)
            changes = tuple(Change("changed", code(case)) for case in cases)
        else:
            changes = tuple(_config_line(p, b, a) for p, b, a in found)
        if changes:
            sections.append(Section(kind, path, path, "changed", changes))
    return sections


def _kubernetes_sections(before: _Side, after: _Side) -> list[Section]:
    sections = []
    for key in sorted(set(before.kubernetes) | set(after.kubernetes)):
        old, new = before.kubernetes.get(key), after.kubernetes.get(key)
        kind, name = key
        path = (new or old or ("", {}))[0]
        changes: list[Change] = []
        if old is not None and new is not None:
            changes = diff_objects(old[1], new[1])
            if old[0] != new[0]:
                changes.insert(0, Change("moved", "object", note=f"moved from file {code(old[0])}"))
        if old is None or new is None or changes:
            status = _status(old, new)
            sections.append(Section(f"Kubernetes {kind}", name, path, status, tuple(changes)))
    return sections


def _other_section(before: _Side, after: _Side) -> list[Section]:
    changes = []
    for path in sorted(set(before.other) | set(after.other)):
        old, new = before.other.get(path), after.other.get(path)
        if old != new:
            note = "layout image" if path.startswith("previews/") else ""
            changes.append(Change(_status(old, new), code(path), note=note))
    return [Section("Other files", "", "", "changed", tuple(changes))] if changes else []


def diff_trees(
    before: dict[str, str], after: dict[str, str], before_label: str = "", after_label: str = ""
) -> Report:
    """The semantic difference of two trees shaped like generated/ ({relative path: text})."""
    # A file identical on both sides holds no change: only the others are parsed.
    same = {path for path, text in before.items() if after.get(path) == text}
    old = _read({p: t for p, t in before.items() if p not in same})
    new = _read({p: t for p, t in after.items() if p not in same})
    sections = (
        _dashboard_sections(old, new)
        + _group_sections("Rule group", old.prometheus, new.prometheus, diff_prometheus_rules)
        + _group_sections("Grafana alert group", old.grafana, new.grafana, diff_grafana_rules)
        + _kubernetes_sections(old, new)
        + _config_sections(old, new)
        + _other_section(old, new)
    )
    return Report(before_label, after_label, tuple(sections))
