"""Semantic diff of alerting and recording rules: Prometheus rule groups and Grafana-managed ones.

A rule is the same rule when its name is (alert or record name; a Grafana rule's uid), whatever
its position in the group. A change of the comparison literal alone reads as a threshold change,
not as a rewritten expression.
"""

from __future__ import annotations

import re
from typing import Any

from devtools.review.report import Change, code, compact_pair, flat, one_line
from devtools.review.structure import differences, displayed

__all__ = [
    "diff_grafana_rules",
    "diff_prometheus_rules",
    "grafana_groups",
    "prometheus_groups",
    "thresholds",
]

# A comparison with a number on its right: `> 0.05`, `<= bool 3`, `== 0`. Label matchers
# (`!="x"`, `=~"..."`) never match: their right side is a quoted string.
_COMPARISON = re.compile(
    r"(?P<op>==|!=|>=|<=|>|<)\s*(?P<bool>bool\s+)?(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
)
# Grafana's threshold evaluator types, as the comparison a reader knows.
_EVALUATORS = {"gt": ">", "lt": "<", "gte": ">=", "lte": "<=", "eq": "==", "ne": "!="}


def thresholds(expr: str) -> list[str]:
    """The comparisons with a literal in an expression: `['> 0.05']`."""
    return [f"{m['op']} {m['bool'] or ''}{m['num']}" for m in _COMPARISON.finditer(flat(expr))]


def _without_thresholds(expr: str) -> str:
    return _COMPARISON.sub(lambda m: f"{m['op']} {m['bool'] or ''}#", flat(expr))


def expr_changes(
    subject: str, aspect: str, before: str, after: str, group: str = ""
) -> list[Change]:
    """An expression change, or only a threshold change when nothing but the literal moved."""
    if flat(before) == flat(after):
        return []
    literal_b, literal_a = ", ".join(thresholds(before)), ", ".join(thresholds(after))
    label = "threshold" if aspect == "expr" else f"{aspect} threshold"
    if _without_thresholds(before) == _without_thresholds(after):
        return [Change("changed", subject, label, literal_b, literal_a, group=group)]
    changes = [Change("changed", subject, aspect, flat(before), flat(after), group=group)]
    if literal_b != literal_a and literal_b and literal_a:
        changes.append(Change("changed", subject, label, literal_b, literal_a, group=group))
    return changes


def _mapping_changes(
    subject: str, kind: str, before: Any, after: Any, group: str = ""
) -> list[Change]:
    """Label or annotation changes, one line per key; `severity` named as such."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    changes = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        aspect = "severity" if key == "severity" and kind == "label" else f"{kind} {code(key)}"
        shown_b = None if b is None else flat(str(b))
        shown_a = None if a is None else flat(str(a))
        action = "added" if b is None else "removed" if a is None else "changed"
        changes.append(Change(action, subject, aspect, shown_b, shown_a, group=group))
    return changes


def _scalar_changes(
    subject: str, keys: tuple[str, ...], before: dict[str, Any], after: dict[str, Any]
) -> list[Change]:
    changes = []
    for key in keys:
        b, a = before.get(key), after.get(key)
        if b != a:
            shown_b, shown_a = compact_pair(b, a)
            changes.append(Change("changed", subject, key, shown_b, shown_a))
    return changes


def _keyed(rules: list[dict[str, Any]], name: Any) -> dict[str, dict[str, Any]]:
    """Rules by name; a name used twice (warning and critical) adds its severity, then a count."""
    keyed: dict[str, dict[str, Any]] = {}
    for rule in rules:
        key = str(name(rule))
        if key in keyed:
            severity = (rule.get("labels") or {}).get("severity")
            key = f"{key} ({severity})" if severity else key
        base, n = key, 2
        while key in keyed:
            key, n = f"{base} ({n})", n + 1
        keyed[key] = rule
    return keyed


# --- Prometheus rule files -------------------------------------------------------------------


def prometheus_groups(data: Any) -> dict[str, dict[str, Any]]:
    """Groups of a Prometheus rule file, by name; {} when the file is not one."""
    if not isinstance(data, dict) or "apiVersion" in data:
        return {}
    groups = data.get("groups")
    if not isinstance(groups, list):
        return {}
    found = {}
    for group in groups:
        rules = group.get("rules") if isinstance(group, dict) else None
        if isinstance(rules, list) and all(
            isinstance(r, dict) and ("alert" in r or "record" in r) for r in rules
        ):
            found[str(group.get("name"))] = group
    return found


def _prom_name(rule: dict[str, Any]) -> str:
    if "alert" in rule:
        return f"alert {code(str(rule['alert']))}"
    return f"recording rule {code(str(rule.get('record')))}"


def _prom_summary(rule: dict[str, Any]) -> str:
    parts = []
    if rule.get("for"):
        parts.append(f"for {code(str(rule['for']))}")
    severity = (rule.get("labels") or {}).get("severity")
    if severity:
        parts.append(f"severity {code(str(severity))}")
    return ", ".join(parts)


def diff_prometheus_rules(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Changes between two versions of one Prometheus rule group."""
    changes = _scalar_changes(
        "group", ("interval", "limit", "query_offset", "partial_response_strategy"), before, after
    )
    rules_b = _keyed(list(before.get("rules") or []), _prom_name)
    rules_a = _keyed(list(after.get("rules") or []), _prom_name)
    for name, rule in rules_b.items():
        if name not in rules_a:
            changes.append(Change("removed", name, before=flat(str(rule.get("expr", "")))))
    for name, rule in rules_a.items():
        expr = flat(str(rule.get("expr", "")))
        if name not in rules_b:
            changes.append(Change("added", name, after=expr, note=_prom_summary(rule)))
            continue
        old = rules_b[name]
        changes += expr_changes(name, "expr", str(old.get("expr", "")), expr)
        changes += _scalar_changes(name, ("for", "keep_firing_for"), old, rule)
        changes += _mapping_changes(name, "label", old.get("labels"), rule.get("labels"))
        changes += _mapping_changes(
            name, "annotation", old.get("annotations"), rule.get("annotations")
        )
    return changes


# --- Grafana-managed rules (file provisioning format) ----------------------------------------


def grafana_groups(data: Any) -> dict[str, dict[str, Any]]:
    """Alert rule groups of a Grafana alerting provisioning file, by `folder/name`."""
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        return {}
    found = {}
    for group in data["groups"]:
        rules = group.get("rules") if isinstance(group, dict) else None
        if isinstance(rules, list) and all(
            isinstance(r, dict) and ("uid" in r or "data" in r or "grafana_alert" in r)
            for r in rules
        ):
            found[f"{group.get('folder', '')}/{group.get('name', '')}"] = group
    return found


def _grafana_rule(rule: dict[str, Any]) -> dict[str, Any]:
    # The ruler-API shape nests the rule under grafana_alert; read both shapes the same way.
    inner = rule.get("grafana_alert")
    return {**rule, **inner} if isinstance(inner, dict) else rule


def _query_aspects(rule: dict[str, Any]) -> dict[str, str]:
    """Each data entry of a Grafana rule, as a reader sees it: query, threshold, reduce, math."""
    found: dict[str, str] = {}
    for entry in rule.get("data") or []:
        if not isinstance(entry, dict):
            continue
        ref = str(entry.get("refId", "?"))
        model = entry.get("model") or {}
        kind = model.get("type")
        if model.get("expr") is not None:
            found[f"query {ref} expr"] = flat(str(model["expr"]))
        elif kind in ("threshold", "classic_conditions"):
            found[f"{ref} threshold"] = _evaluators(model)
        elif kind == "math":
            found[f"{ref} math"] = flat(str(model.get("expression", "")))
        elif kind in ("reduce", "resample"):
            detail = model.get("reducer") or model.get("downsampler") or ""
            found[f"{ref} {kind}"] = f"{detail}({model.get('expression', '')})"
        else:
            found[f"{ref} model"] = one_line(model)
        if entry.get("datasourceUid"):
            found[f"{ref} datasource"] = str(entry["datasourceUid"])
        window = entry.get("relativeTimeRange") or {}
        if window:
            found[f"{ref} time range"] = f"{window.get('from', 0)}s to {window.get('to', 0)}s ago"
    return found


def _evaluators(model: dict[str, Any]) -> str:
    shown = []
    for condition in model.get("conditions") or []:
        evaluator = condition.get("evaluator") or {}
        kind = str(evaluator.get("type", "?"))
        params = [str(p) for p in evaluator.get("params") or []]
        op = _EVALUATORS.get(kind)
        shown.append(f"{op} {params[0]}" if op and params else f"{kind} {', '.join(params)}")
    expression = model.get("expression")
    prefix = f"${expression} " if expression else ""
    return prefix + "; ".join(shown)


def _grafana_summary(rule: dict[str, Any]) -> str:
    parts = []
    for aspect, value in _query_aspects(rule).items():
        if aspect.endswith(("threshold", "math")):
            parts.append(f"{aspect} {code(value)}")
    parts += [f"for {code(str(rule['for']))}"] if rule.get("for") else []
    severity = (rule.get("labels") or {}).get("severity")
    parts += [f"severity {code(str(severity))}"] if severity else []
    return ", ".join(parts)


def diff_grafana_rules(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Changes between two versions of one Grafana-managed alert rule group."""
    changes = _scalar_changes("group", ("interval", "orgId"), before, after)
    rules_b = [_grafana_rule(r) for r in before.get("rules") or []]
    rules_a = [_grafana_rule(r) for r in after.get("rules") or []]

    def ident(rule: dict[str, Any]) -> str:
        return str(rule.get("uid") or rule.get("title"))

    keyed_b, keyed_a = _keyed(rules_b, ident), _keyed(rules_a, ident)
    for key, rule in keyed_b.items():
        if key not in keyed_a:
            changes.append(Change("removed", f"Grafana alert {code(str(rule.get('title')))}"))
    for key, rule in keyed_a.items():
        name = f"Grafana alert {code(str(rule.get('title')))}"
        queries = "; ".join(v for k, v in _query_aspects(rule).items() if k.endswith(" expr"))
        if key not in keyed_b:
            summary = _grafana_summary(rule)
            changes.append(Change("added", name, after=queries or None, note=summary))
            continue
        old = keyed_b[key]
        if old.get("title") != rule.get("title"):
            old_name = f"Grafana alert {code(str(old.get('title')))}"
            changes.append(Change("renamed", old_name, after=str(rule.get("title"))))
        aspects_b, aspects_a = _query_aspects(old), _query_aspects(rule)
        for aspect in list(aspects_b) + [a for a in aspects_a if a not in aspects_b]:
            b, a = aspects_b.get(aspect), aspects_a.get(aspect)
            if b is not None and a is not None and aspect.endswith(" expr"):
                changes += expr_changes(name, aspect, b, a)
            elif b != a:
                action = "added" if b is None else "removed" if a is None else "changed"
                changes.append(Change(action, name, aspect, *compact_pair(b, a)))
        keys = ("condition", "for", "noDataState", "execErrState", "isPaused")
        changes += _scalar_changes(name, keys, old, rule)
        changes += _mapping_changes(name, "label", old.get("labels"), rule.get("labels"))
        changes += _mapping_changes(
            name, "annotation", old.get("annotations"), rule.get("annotations")
        )
        known = {"uid", "title", "data", "labels", "annotations", "grafana_alert", *keys}
        rest_b = {k: v for k, v in old.items() if k not in known}
        rest_a = {k: v for k, v in rule.items() if k not in known}
        for path, b, a in differences(rest_b, rest_a):
            shown_b, shown_a = displayed(b, a)
            changes.append(Change("changed", name, path, shown_b, shown_a))
    return changes
