"""Render a review Report as Markdown (a pull-request comment) or plain text (the terminal)."""

from __future__ import annotations

from collections import Counter

from devtools.review.report import Change, Report, Section, code

__all__ = ["NO_CHANGES", "render", "render_markdown", "render_text", "sentence"]

NO_CHANGES = "No changes."
_MARKERS = {"added": "+", "removed": "-", "changed": "~", "renamed": "~", "moved": ">"}


def sentence(change: Change) -> str:
    """One change as one line: `panel `Latency`: unit `s` → `ms``."""
    subject, aspect, note = change.subject, change.aspect, change.note

    def shown(value: str | None) -> str:
        return "(none)" if value is None else code(value)

    if change.action == "renamed":
        return f"{subject} renamed to {shown(change.after)}"
    if change.action == "moved":
        return f"{subject} {note}"
    if change.action == "changed":
        lead = f"{subject}: {aspect}" if aspect else subject
        if change.before is None and change.after is None:
            return f"{lead} changed" + (f" ({note})" if note else "")
        separator = " " if aspect else ": "
        tail = f" ({note})" if note else ""
        return f"{lead}{separator}{shown(change.before)} → {shown(change.after)}{tail}"
    lead = f"{subject}: {aspect} {change.action}" if aspect else f"{subject} {change.action}"
    if note:
        lead += f" ({note})"
    value = change.after if change.action == "added" else change.before
    return f"{lead}: {code(value)}" if value else lead


def _grouped(section: Section) -> list[tuple[str, list[Change]]]:
    groups: dict[str, list[Change]] = {}
    for change in section.changes:
        groups.setdefault(change.group, []).append(change)
    return sorted(groups.items(), key=lambda item: item[0] != "")  # section-wide lines first


def _summary(report: Report) -> str:
    counts = Counter(s.status for s in report.sections)
    parts = [f"{counts[s]} {s}" for s in ("changed", "added", "removed") if counts[s]]
    noun = "section" if len(report.sections) == 1 else "sections"
    return f"{len(report.sections)} {noun}: " + ", ".join(parts)


def _heading(section: Section) -> str:
    name = f" {code(section.name)}" if section.name else ""
    return f"{section.kind}{name} ({section.status})"


def render_markdown(report: Report) -> str:
    """A pull-request comment: a heading per dashboard, rule group and file; code-span values."""
    lines = ["## bikewatch review", ""]
    lines.append(f"{report.before_label} → {report.after_label}".strip(" →"))
    lines.append("")
    if report.empty:
        return "\n".join([*lines, NO_CHANGES, ""])
    lines += [_summary(report), ""]
    for section in report.sections:
        lines.append(f"### {_heading(section)}")
        lines.append("")
        if section.path and section.path != section.name:
            lines += [code(f"generated/{section.path}"), ""]
        for group, changes in _grouped(section):
            if group:
                lines += [f"**{group}**", ""]
            lines += [f"- {sentence(c)}" for c in changes]
            lines.append("")
    return "\n".join(lines)


def render_text(report: Report) -> str:
    """The terminal form: one line per change, marked + - ~ >, indented under its section."""
    lines = [f"bikewatch review: {report.before_label} → {report.after_label}".rstrip(" →:")]
    if report.empty:
        return "\n".join([*lines, NO_CHANGES, ""])
    lines += [_summary(report), ""]
    for section in report.sections:
        where = (
            f" — generated/{section.path}" if section.path and section.path != section.name else ""
        )
        lines.append(_heading(section) + where)
        for group, changes in _grouped(section):
            indent = "  "
            if group:
                lines.append(f"  {group}")
                indent = "    "
            lines += [f"{indent}{_MARKERS[c.action]} {sentence(c)}" for c in changes]
        lines.append("")
    return "\n".join(lines)


def render(report: Report, fmt: str) -> str:
    """`markdown` or `text`."""
    return render_markdown(report) if fmt == "markdown" else render_text(report)
