"""Review tooling: a semantic diff of generated dashboards, rules and configs between two trees."""

from __future__ import annotations

from bikewatch.review.model import Change, Report, Section
from bikewatch.review.render import render, render_markdown, render_text
from bikewatch.review.trees import diff_trees

__all__ = [
    "Change",
    "Report",
    "Section",
    "diff_trees",
    "render",
    "render_markdown",
    "render_text",
]
