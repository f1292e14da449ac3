"""Semantic diff of Grafana dashboard JSON: panels matched by identity, rows as sections.

Grafana's own history diffs panels by array index, so one moved panel reads as dozens of
changes. Here a panel is the same panel when its title is (or, failing that, its first query),
wherever it sits in the array and whatever its id; gridPos noise becomes "moved from row X to
row Y" or one line per panel that changed place or size within its row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from devtools.review.report import Change, code, compact, compact_pair, flat, one_line
from devtools.review.structure import differences, displayed, leaves

__all__ = ["NO_ROW", "PanelView", "diff_dashboards", "layout", "panel_summary"]

NO_ROW = "(above the first row)"
# Assigned by Grafana or by our build, never chosen by the author: not a change.
NOISE_KEYS = frozenset({"id", "version", "iteration"})
# Read separately with their own rules below; the rest of the dashboard is compared generically.
STRUCTURED_KEYS = frozenset({"panels", "templating", "rows"}) | NOISE_KEYS
PANEL_STRUCTURED = frozenset(
    {"title", "type", "description", "targets", "gridPos", "fieldConfig", "panels", "collapsed"}
)
# What a reviewer reads in full; any other panel setting is shortened around its change.
UNCUT_ASPECTS = frozenset({"type", "description", "unit", "thresholds"})
# Grafana fills these in from the datasource; they follow the query, they are not settings.
VARIABLE_NOISE = frozenset({"current", "options"})


@dataclass(frozen=True)
class PanelView:
    """A non-row panel with the row it sits in (rows are sections of the layout)."""

    title: str
    row: str
    order: int  # position in reading order (row by row, top to bottom, left to right)
    raw: dict[str, Any]

    @property
    def queries(self) -> list[str]:
        return [flat(str(t["expr"])) for t in _targets(self.raw) if t.get("expr")]

    @property
    def size(self) -> tuple[int, int]:
        grid = self.raw.get("gridPos") or {}
        return int(grid.get("w", 0)), int(grid.get("h", 0))


def _targets(panel: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in panel.get("targets") or [] if isinstance(t, dict)]


def _grid(panel: dict[str, Any]) -> tuple[int, int]:
    grid = panel.get("gridPos") or {}
    return int(grid.get("y", 0)), int(grid.get("x", 0))


def _unique(titles: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    named = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        named.append(title if seen[title] == 1 else f"{title} ({seen[title]})")
    return named


def layout(dashboard: dict[str, Any]) -> tuple[list[str], list[PanelView]]:
    """Row titles in order, and every panel with its row, in reading order.

    A panel belongs to the nearest row above it; a collapsed row carries its panels inside it.
    The legacy `rows` list (schemaVersion < 16) is read the same way.
    """
    top = [p for p in dashboard.get("panels") or [] if isinstance(p, dict)]
    top.sort(key=_grid)
    rows = _unique(str(p.get("title") or "(untitled row)") for p in top if p.get("type") == "row")
    row_names = iter(rows)
    current = NO_ROW
    placed: list[tuple[str, dict[str, Any]]] = []
    for panel in top:
        if panel.get("type") == "row":
            current = next(row_names)
            nested = [p for p in panel.get("panels") or [] if isinstance(p, dict)]
            placed += [(current, p) for p in sorted(nested, key=_grid)]
        else:
            placed.append((current, panel))
    for legacy in dashboard.get("rows") or []:
        name = str(legacy.get("title") or "(untitled row)")
        rows.append(name)
        placed += [(name, p) for p in legacy.get("panels") or [] if isinstance(p, dict)]
    panels = [PanelView(str(p.get("title") or ""), row, i, p) for i, (row, p) in enumerate(placed)]
    return rows, panels


def _match(
    before: list[PanelView], after: list[PanelView]
) -> tuple[list[tuple[PanelView, PanelView]], list[PanelView], list[PanelView]]:
    """Pairs of the same panel, then the removed ones and the added ones."""
    pairs: list[tuple[PanelView, PanelView]] = []
    left, right = list(before), list(after)

    def take(identity: Any) -> None:
        nonlocal left, right
        b_ids: dict[Any, list[PanelView]] = {}
        a_ids: dict[Any, list[PanelView]] = {}
        for p in left:
            if (k := identity(p)) is not None:
                b_ids.setdefault(k, []).append(p)
        for p in right:
            if (k := identity(p)) is not None:
                a_ids.setdefault(k, []).append(p)
        for key, olds in b_ids.items():
            news = a_ids.get(key, [])
            if len(olds) == 1 and len(news) == 1:
                pairs.append((olds[0], news[0]))
        matched_ids = {id(b) for b, _ in pairs} | {id(a) for _, a in pairs}
        left = [p for p in left if id(p) not in matched_ids]
        right = [p for p in right if id(p) not in matched_ids]

    take(lambda p: p.title or None)  # a unique title is the panel's name
    take(lambda p: p.queries[0] if p.queries else None)  # renamed: same first query
    take(lambda p: (p.title, p.row))  # duplicated titles: the one in the same row,
    take(lambda p: (p.title, p.raw.get("type")))  # or of the same visualisation
    # Still ambiguous duplicates: pair them in reading order.
    by_title: dict[str, list[PanelView]] = {}
    for p in right:
        by_title.setdefault(p.title, []).append(p)
    for p in list(left):
        if by_title.get(p.title):
            pairs.append((p, by_title[p.title].pop(0)))
    paired = {id(x) for pair in pairs for x in pair}
    removed = [p for p in before if id(p) not in paired]
    added = [p for p in after if id(p) not in paired]
    pairs.sort(key=lambda pair: pair[1].order)
    return pairs, removed, added


def _thresholds(panel: dict[str, Any]) -> str | None:
    spec = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("thresholds")
    if not spec:
        return None
    steps = []
    for step in spec.get("steps") or []:
        value = step.get("value")
        color = str(step.get("color", "?"))
        steps.append(color if value is None else f"{color} from {_number(value)}")
    mode = spec.get("mode", "absolute")
    return ", ".join(steps) + ("" if mode == "absolute" else f" ({mode})")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return dict((panel.get("fieldConfig") or {}).get("defaults") or {})


def _aspects(panel: dict[str, Any]) -> dict[str, str]:
    """What a reviewer reads in a panel, besides its queries and place."""
    found = {
        "type": str(panel.get("type") or ""),
        "description": flat(str(panel.get("description") or "")),
        "unit": str(_defaults(panel).get("unit") or ""),
        "thresholds": _thresholds(panel) or "",
    }
    # Anything else (options, overrides, min/max, datasource...) compactly, by path.
    rest = {k: v for k, v in panel.items() if k not in PANEL_STRUCTURED and k not in NOISE_KEYS}
    rest["fieldConfig"] = {
        **(panel.get("fieldConfig") or {}),
        "defaults": {k: v for k, v in _defaults(panel).items() if k not in ("unit", "thresholds")},
    }
    for path, value in leaves(rest).items():
        if value not in ({}, [], None, ""):
            found[path] = one_line(value)
    return {k: v for k, v in found.items() if v != ""}


def panel_summary(panel: dict[str, Any]) -> str:
    """`timeseries, unit `s`, 2 queries`: what an added or removed panel was."""
    parts = [str(panel.get("type") or "panel")]
    unit = _defaults(panel).get("unit")
    if unit:
        parts.append(f"unit {code(str(unit))}")
    count = len(_targets(panel))
    if count:
        parts.append(f"{count} quer{'y' if count == 1 else 'ies'}")
    return ", ".join(parts)


def _compare(
    subject: str, before: dict[str, str], after: dict[str, str], group: str
) -> list[Change]:
    changes = []
    for key in list(before) + [k for k in after if k not in before]:
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if key not in UNCUT_ASPECTS and not key.endswith((" expr", " legend")):
            b, a = compact_pair(b, a)  # a JSON path of options: shown around the change
        if b is None:
            changes.append(Change("added", subject, key, after=a, group=group))
        elif a is None:
            changes.append(Change("removed", subject, key, before=b, group=group))
        else:
            changes.append(Change("changed", subject, key, b, a, group=group))
    return changes


def _query_changes(subject: str, before: PanelView, after: PanelView, group: str) -> list[Change]:
    """Queries matched by expression first (a renumbered refId is not a change), then refId."""
    b_targets, a_targets = _targets(before.raw), _targets(after.raw)
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for b in list(b_targets):
        same = [
            a for a in a_targets if flat(str(a.get("expr", ""))) == flat(str(b.get("expr", "")))
        ]
        if b.get("expr") and same:
            pairs.append((b, same[0]))
            b_targets.remove(b)
            a_targets.remove(same[0])
    for b in list(b_targets):
        same = [a for a in a_targets if a.get("refId") == b.get("refId")]
        if same:
            pairs.append((b, same[0]))
            b_targets.remove(b)
            a_targets.remove(same[0])
    changes = []
    for b, a in pairs:
        name = f"query {a.get('refId') or '?'}"
        changes += _compare(subject, _target_aspects(name, b), _target_aspects(name, a), group)
    for b in b_targets:
        aspect = f"query {b.get('refId') or '?'}"
        changes.append(
            Change("removed", subject, aspect, before=flat(str(b.get("expr", ""))), group=group)
        )
    for a in a_targets:
        aspect = f"query {a.get('refId') or '?'}"
        changes.append(
            Change("added", subject, aspect, after=flat(str(a.get("expr", ""))), group=group)
        )
    return changes


def _target_aspects(name: str, target: dict[str, Any]) -> dict[str, str]:
    found = {f"{name} expr": flat(str(target.get("expr") or ""))}
    found[f"{name} legend"] = str(target.get("legendFormat") or "")
    rest = {k: v for k, v in target.items() if k not in ("expr", "legendFormat", "refId")}
    for path, value in leaves(rest).items():
        if value not in ({}, [], None, ""):
            found[f"{name} {path}"] = one_line(value)
    return {k: v for k, v in found.items() if v != ""}


def _lcs(a: list[str], b: list[str]) -> set[str]:
    """Members of a longest common subsequence: what kept its relative order."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            table[i][j] = (
                table[i + 1][j + 1] + 1 if a[i] == b[j] else max(table[i + 1][j], table[i][j + 1])
            )
    kept, i, j = set(), 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _panel_changes(
    pairs: list[tuple[PanelView, PanelView]], removed: list[PanelView], added: list[PanelView]
) -> list[Change]:
    changes: list[Change] = []
    # Within a row, a panel "moved" when it left the longest run of panels keeping their order:
    # inserting one panel shifts the others' coordinates but moves none of them.
    same_row = [(b, a) for b, a in pairs if b.row == a.row]
    moved_within: set[int] = set()
    for row in dict.fromkeys(a.row for _, a in same_row):
        members = [(b, a) for b, a in same_row if a.row == row]
        names = {id(a): str(n) for n, (_, a) in enumerate(members)}
        before_order = [names[id(a)] for _, a in sorted(members, key=lambda pair: pair[0].order)]
        after_order = [names[id(a)] for _, a in members]
        kept = _lcs(before_order, after_order)
        moved_within |= {id(a) for _, a in members if names[id(a)] not in kept}
    for b, a in pairs:
        subject = f"panel {code(a.title or '(untitled)')}"
        if b.title != a.title:
            subject = f"panel {code(b.title or '(untitled)')}"
            changes.append(Change("renamed", subject, after=a.title, group=a.row))
            subject = f"panel {code(a.title or '(untitled)')}"
        if b.row != a.row:
            note = f"moved from row {code(b.row)} to row {code(a.row)}"
            changes.append(Change("moved", subject, note=note, group=a.row))
        elif id(a) in moved_within:
            changes.append(Change("moved", subject, note="moved within its row", group=a.row))
        if b.size != a.size:
            size_b, size_a = (f"{w}x{h}" for w, h in (b.size, a.size))
            changes.append(Change("changed", subject, "size (w x h)", size_b, size_a, group=a.row))
        changes += _compare(subject, _aspects(b.raw), _aspects(a.raw), a.row)
        changes += _query_changes(subject, b, a, a.row)
    for p in removed:
        subject = f"panel {code(p.title or '(untitled)')}"
        changes.append(Change("removed", subject, note=panel_summary(p.raw), group=p.row))
    for p in added:
        subject = f"panel {code(p.title or '(untitled)')}"
        queries = "; ".join(p.queries)
        changes.append(
            Change("added", subject, after=queries or None, note=panel_summary(p.raw), group=p.row)
        )
    return changes


def _row_changes(
    rows_b: list[str], rows_a: list[str], pairs: list[tuple[PanelView, PanelView]]
) -> tuple[list[Change], dict[str, str]]:
    """Rows added, removed, renamed (same panels under a new title), reordered."""
    changes: list[Change] = []
    gone = [r for r in rows_b if r not in rows_a]
    new = [r for r in rows_a if r not in rows_b]
    renamed: dict[str, str] = {}
    for old in gone:
        members = {id(a) for b, a in pairs if b.row == old}
        for candidate in new:
            if members and members == {id(a) for b, a in pairs if a.row == candidate}:
                renamed[old] = candidate
                break
    for old, name in renamed.items():
        changes.append(Change("renamed", f"row {code(old)}", after=name))
    changes += [Change("removed", f"row {code(r)}") for r in gone if r not in renamed]
    changes += [Change("added", f"row {code(r)}") for r in new if r not in renamed.values()]
    order_b = [renamed.get(r, r) for r in rows_b if renamed.get(r, r) in rows_a]
    order_a = [r for r in rows_a if r in order_b]
    if order_b != order_a:
        note = f"{code(', '.join(order_b))} → {code(', '.join(order_a))}"
        changes.append(Change("moved", "rows", note=f"reordered: {note}"))
    return changes, renamed


def _variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    templating = dashboard.get("templating") or {}
    return {
        str(v.get("name")): {k: x for k, x in v.items() if k not in VARIABLE_NOISE}
        for v in templating.get("list") or []
        if isinstance(v, dict)
    }


def _variable_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    changes = []
    vars_b, vars_a = _variables(before), _variables(after)
    for name in vars_b:
        if name not in vars_a:
            changes.append(Change("removed", f"variable {code('$' + name)}"))
    for name, spec in vars_a.items():
        subject = f"variable {code('$' + name)}"
        if name not in vars_b:
            kind = str(spec.get("type", "variable"))
            query = spec.get("query")
            shown = compact(query) if query else None
            changes.append(Change("added", subject, after=shown, note=kind))
            continue
        for path, b, a in differences(vars_b[name], spec, ignore=NOISE_KEYS):
            shown_b, shown_a = displayed(b, a)
            changes.append(Change("changed", subject, path, shown_b, shown_a))
    order_b = [n for n in vars_b if n in vars_a]
    order_a = [n for n in vars_a if n in vars_b]
    if order_b != order_a:
        note = f"{code(', '.join(order_b))} → {code(', '.join(order_a))}"
        changes.append(Change("moved", "variables", note=f"reordered: {note}"))
    return changes


def _setting_changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    settings_b = {k: v for k, v in before.items() if k not in STRUCTURED_KEYS}
    settings_a = {k: v for k, v in after.items() if k not in STRUCTURED_KEYS}
    changes = []
    time_b, time_a = settings_b.pop("time", None), settings_a.pop("time", None)
    if time_b != time_a:
        changes.append(Change("changed", "dashboard", "time range", _time(time_b), _time(time_a)))
    for path, b, a in differences(settings_b, settings_a):
        shown_b, shown_a = displayed(b, a)
        changes.append(Change("changed", "dashboard", path, shown_b, shown_a))
    return changes


def _time(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None if value is None else compact(value)
    return f"{value.get('from', '?')} to {value.get('to', '?')}"


def diff_dashboards(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every semantic change between two versions of one dashboard, in reading order."""
    rows_b, panels_b = layout(before)
    rows_a, panels_a = layout(after)
    pairs, removed, added = _match(panels_b, panels_a)
    row_changes, renamed_rows = _row_changes(rows_b, rows_a, pairs)
    # A renamed row is the same section: its panels did not move.
    pairs = [
        (PanelView(b.title, renamed_rows.get(b.row, b.row), b.order, b.raw), a) for b, a in pairs
    ]
    changes = _setting_changes(before, after) + _variable_changes(before, after) + row_changes
    panel_changes = _panel_changes(pairs, removed, added)
    rank = {row: i for i, row in enumerate([NO_ROW, *rows_a, *rows_b])}
    panel_changes.sort(key=lambda c: rank.get(c.group, len(rank)))  # stable: by row, then order
    labelled = [replace(c, group=_row_label(c.group)) for c in panel_changes]
    return changes + labelled


def _row_label(row: str) -> str:
    return row if row == NO_ROW else f"row {code(row)}"


def load(text: str) -> dict[str, Any]:
    """A dashboard file; the JSON of a provisioned dashboard or of the HTTP API's envelope."""
    data = json.loads(text)
    if isinstance(data, dict) and isinstance(data.get("dashboard"), dict):
        return dict(data["dashboard"])
    return dict(data) if isinstance(data, dict) else {}
