"""Rule expressions: the comparison literal is read as the threshold, label matchers never are."""

from __future__ import annotations

import pytest

from devtools.review.rule_diff import expr_changes, thresholds


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('up{job="api"} == 0', ["== 0"]),
        ('rate(x_total{code=~"5..",a!="1"}[5m]) > bool 0.05', ["> bool 0.05"]),
        ("time() - ts > 86400 and ts > 0", ["> 86400", "> 0"]),
        ("ratio >= 1e-3", [">= 1e-3"]),
        ("a / b < c", []),
    ],
)
def test_thresholds_are_comparisons_with_a_literal(expr: str, expected: list[str]) -> None:
    assert thresholds(expr) == expected


def test_a_literal_change_alone_is_a_threshold_change() -> None:
    (change,) = expr_changes("alert `A`", "expr", "x > 0.05", "x  >  0.1")
    assert (change.aspect, change.before, change.after) == ("threshold", "> 0.05", "> 0.1")


def test_a_rewritten_expression_shows_both_sides_and_the_threshold() -> None:
    changes = expr_changes("alert `A`", "expr", "x > 0.05", "max(x) > 0.1")
    assert [(c.aspect, c.before, c.after) for c in changes] == [
        ("expr", "x > 0.05", "max(x) > 0.1"),
        ("threshold", "> 0.05", "> 0.1"),
    ]


def test_whitespace_and_line_folding_are_not_changes() -> None:
    assert expr_changes("alert `A`", "expr", "x\n  > 0", "x > 0") == []
