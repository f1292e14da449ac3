"""Semantic diff of Kubernetes objects (`generated/kubernetes/`): by kind and name, field by field.

An object is the same object when its kind and name are, whatever its file. A file embedded in a
ConfigMap is read as what it is: a dashboard is named (its own section above reviews it), a YAML
file is compared key by key. A PrometheusRule's groups are named, not repeated: the rule group
sections above review the same text (`generated/prometheus/rules/`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from devtools.review.report import Change, code
from devtools.review.structure import MISSING, differences, displayed

__all__ = ["diff_objects", "object_key"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def object_key(data: Any) -> tuple[str, str] | None:
    """(kind, name) of a Kubernetes object, or None when `data` is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return None
    metadata = data.get("metadata")
    if "apiVersion" not in data or not isinstance(metadata, dict) or "name" not in metadata:
        return None
    return data["kind"], str(metadata["name"])


def _status(before: object, after: object) -> str:
    return "added" if before is MISSING else "removed" if after is MISSING else "changed"


def _line(path: str, before: Any, after: Any, note: str = "") -> Change:
    shown_b, shown_a = displayed(before, after)
    return Change(_status(before, after), code(path), "", shown_b, shown_a, note)


def _parsed(key: str, text: Any) -> Any:
    """An embedded file's content, parsed (JSON or YAML); the text itself when it is neither."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text) if key.endswith(".json") else yaml.load(text, Loader=_LOADER)
    except (json.JSONDecodeError, yaml.YAMLError):
        return text


def _embedded(key: str, before: Any, after: Any) -> list[Change]:
    path = f"data.{key}"
    old, new = _parsed(key, before), _parsed(key, after)
    dashboard = next(
        (d for d in (new, old) if isinstance(d, dict) and "panels" in d),
        None,
    )
    if dashboard is not None:
        title = code(str(dashboard.get("title", key)))
        return [Change(_status(before, after), code(path), note=f"dashboard {title}, see above")]
    if before is MISSING or after is MISSING or not isinstance(old, dict | list):
        return [_line(path, before, after)]
    return [_line(f"{path}: {p}", b, a) for p, b, a in differences(old, new)]


def _rule_groups(before: Any, after: Any) -> list[Change]:
    def by_name(spec: Any) -> dict[str, Any]:
        groups = spec.get("groups") if isinstance(spec, dict) else None
        return {str(g.get("name")): g for g in groups or [] if isinstance(g, dict)}

    old, new = by_name(before), by_name(after)
    changes = []
    for name in sorted(set(old) | set(new)):
        b, a = old.get(name, MISSING), new.get(name, MISSING)
        if b != a:
            subject = f"rule group {code(name)}"
            changes.append(Change(_status(b, a), subject, note="reviewed in its rule group above"))
    return changes


def diff_objects(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """What changed in one object (same kind and name on both sides)."""
    changes: list[Change] = []
    ignore = frozenset({"data"}) if before.get("kind") == "ConfigMap" else frozenset()
    if before.get("kind") == "PrometheusRule":
        changes += _rule_groups(before.get("spec"), after.get("spec"))
        ignore = frozenset({"spec"})
    for path, b, a in differences(before, after, ignore=ignore):
        changes.append(_line(path, b, a))
    if before.get("kind") == "ConfigMap":
        old, new = before.get("data") or {}, after.get("data") or {}
        for key in sorted(set(old) | set(new)):
            b, a = old.get(key, MISSING), new.get(key, MISSING)
            if b != a:
                changes += _embedded(key, b, a)
    return changes
