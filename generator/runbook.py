"""The project-wide final pass: every alert gets the common labels and a runbook_url to its section.

Applied once, after the areas declare their groups, as the monitoring mixins do: no area can
forget a label or link to a runbook section that does not exist. The runbook is
`rules_py/RUNBOOK.md`, beside the alerts it explains.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from authoring import config
from authoring.rules_dsl import AlertingRule, RuleGroup
from generator.errors import BuildError

__all__ = ["RUNBOOK", "anchors", "finalize", "slug"]

RUNBOOK = Path(__file__).resolve().parent.parent / "rules_py" / "RUNBOOK.md"
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


def slug(heading: str) -> str:
    """The anchor Markdown renderers (GitHub's rules) derive from a heading's text."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path = RUNBOOK) -> set[str]:
    """Every heading anchor of a Markdown document (outside fenced code)."""
    found: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            found.add(slug(match.group(1)))
    return found


def _finish(alert: AlertingRule, known_anchors: set[str]) -> AlertingRule:
    if alert.anchor not in known_anchors:
        raise BuildError(
            f"{alert.name}: runbook anchor #{alert.anchor} is not a heading of {RUNBOOK.name}"
        )
    return dataclasses.replace(
        alert,
        labels={**config.ALERT_COMMON_LABELS, **alert.labels},
        annotations={**alert.annotations, "runbook_url": f"{config.RUNBOOK_URL}#{alert.anchor}"},
    )


def finalize(
    groups: Iterable[RuleGroup],
    runbook: Path = RUNBOOK,
    origin: Callable[[str], str] | None = None,
) -> tuple[RuleGroup, ...]:
    """`groups` with every alert carrying the common labels and its runbook_url.

    `origin` maps a group name to its source file, which then starts an error message.
    """
    known = anchors(runbook)
    finished = []
    for group in groups:
        try:
            rules = tuple(
                _finish(rule, known) if isinstance(rule, AlertingRule) else rule
                for rule in group.rules
            )
        except BuildError as exc:
            raise BuildError(f"{origin(group.name)}: {exc}" if origin else str(exc)) from None
        finished.append(dataclasses.replace(group, rules=rules))
    return tuple(finished)
