"""Dashboard layout as the review reads it: a panel belongs to the row above it."""

from __future__ import annotations

from typing import Any

from devtools.review.dashboard_diff import NO_ROW, diff_dashboards, layout


def _panel(
    title: str, y: int, x: int = 0, kind: str = "timeseries", **extra: Any
) -> dict[str, Any]:
    return {"type": kind, "title": title, "gridPos": {"x": x, "y": y, "w": 12, "h": 4}, **extra}


def test_panels_belong_to_the_row_above_them_and_collapsed_rows_carry_theirs() -> None:
    dashboard = {
        "panels": [
            _panel("B", 5, kind="row"),
            _panel("top", 0),
            _panel("b1", 6, x=12),
            _panel("b0", 6),
            _panel("C", 10, kind="row", collapsed=True, panels=[_panel("c0", 11)]),
        ]
    }
    rows, panels = layout(dashboard)
    assert rows == ["B", "C"]
    assert [(p.title, p.row) for p in panels] == [
        ("top", NO_ROW),
        ("b0", "B"),
        ("b1", "B"),
        ("c0", "C"),
    ]


def test_swapping_two_panels_in_a_row_moves_one_and_inserting_one_moves_none() -> None:
    before = {"panels": [_panel("R", 0, kind="row"), _panel("a", 1), _panel("b", 1, x=12)]}
    swapped = {"panels": [_panel("R", 0, kind="row"), _panel("b", 1), _panel("a", 1, x=12)]}
    assert [c.action for c in diff_dashboards(before, swapped)] == ["moved"]
    inserted = {
        "panels": [_panel("R", 0, kind="row"), _panel("new", 1), _panel("a", 5), _panel("b", 5, 12)]
    }
    assert [(c.action, c.subject) for c in diff_dashboards(before, inserted)] == [
        ("added", "panel `new`")
    ]


def test_a_panel_renamed_keeps_its_identity_through_its_query() -> None:
    query = [{"refId": "A", "expr": "sum(rate(x_total[5m]))"}]
    before = {"panels": [_panel("Old", 0, targets=query)]}
    after = {"panels": [_panel("New", 0, targets=query)]}
    (change,) = diff_dashboards(before, after)
    assert (change.action, change.subject, change.after) == ("renamed", "panel `Old`", "New")
