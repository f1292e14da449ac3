"""Review tooling: a semantic diff of generated dashboards, rules and configs between two trees."""

from __future__ import annotations

from devtools.review.compare_trees import diff_trees
from devtools.review.render import render, render_markdown, render_text
from devtools.review.report import Change, Report, Section

__all__ = [
    "Change",
    "Report",
    "Section",
    "diff_trees",
    "render",
    "render_markdown",
    "render_text",
]
