"""The review's vocabulary: a Report of Sections (dashboard, rule group, file) of Changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Change", "Report", "Section", "code", "compact", "compact_pair", "flat", "one_line"]

# Long values are cut in the one-line summaries of provisioning and scrape configs; queries and
# expressions are never cut (those are what a reviewer reads closely).
COMPACT_LIMIT = 80


@dataclass(frozen=True)
class Change:
    """One thing a reviewer should notice, e.g. a panel's query before and after.

    >>> Change("changed", "panel `Latency`", "unit", "s", "ms").action
    'changed'
    """

    action: str  # added | removed | changed | renamed | moved
    subject: str  # what changed, already quoted: "panel `Latency`", "alert `ApiDown`"
    aspect: str = ""  # which part of it: "unit", "query A expr", "for"
    before: str | None = None
    after: str | None = None
    note: str = ""  # free text, e.g. "from row `Traffic` to row `Errors`"
    group: str = ""  # sub-heading inside the section (a dashboard row); "" = the section itself


@dataclass(frozen=True)
class Section:
    """Changes of one reviewed unit: a dashboard, a rule group, a config file."""

    kind: str  # "Dashboard", "Rule group", "Grafana alert group", "Scrape config", ...
    name: str
    path: str  # where it lives, relative to generated/
    status: str  # added | removed | changed
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True)
class Report:
    """Everything that differs between two `generated/` trees, in reading order."""

    before_label: str
    after_label: str
    sections: tuple[Section, ...] = field(default_factory=tuple)

    @property
    def empty(self) -> bool:
        return not self.sections


def flat(text: str) -> str:
    """Whitespace-insensitive form of an expression: YAML folding must not read as a change."""
    return " ".join(text.split())


def one_line(value: object) -> str:
    """A config value on one line: strings as they are, anything else as sorted JSON."""
    return flat(value if isinstance(value, str) else json.dumps(value, sort_keys=True))


def compact(value: object) -> str:
    """A short one-line rendering of a config value for the one-line summaries."""
    text = one_line(value)
    return text if len(text) <= COMPACT_LIMIT else text[: COMPACT_LIMIT - 1] + "…"


def compact_pair(before: object, after: object) -> tuple[str | None, str | None]:
    """Both sides shortened around where they first differ, so the cut never hides the change.

    None stands for a side that does not have the value.
    """
    if before is None or after is None:
        return (
            None if before is None else compact(before),
            None if after is None else compact(after),
        )
    old, new = one_line(before), one_line(after)
    if len(old) <= COMPACT_LIMIT and len(new) <= COMPACT_LIMIT:
        return old, new
    first = next((i for i, (x, y) in enumerate(zip(old, new, strict=False)) if x != y), None)
    start = max(0, (min(len(old), len(new)) if first is None else first) - COMPACT_LIMIT // 4)

    def window(text: str) -> str:
        cut = text[start : start + COMPACT_LIMIT]
        return ("…" if start else "") + cut + ("…" if start + COMPACT_LIMIT < len(text) else "")

    return window(old), window(new)


def code(value: str) -> str:
    """A Markdown code span that survives backticks in the value (and reads well as text)."""
    fence = "`"
    while fence in value:
        fence += "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
