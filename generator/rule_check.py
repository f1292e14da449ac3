"""Validates rule groups before anything is compiled: names, annotations, PromQL, tests, units.

Every problem is a BuildError with one line: the source file (when known), `group/rule`, and
the reason. Thresholds are checked against the unit and valid range of what they compare
(`api.metrics` and the node-exporter catalog carry both): a ratio threshold above 1, a ratio
written where the metric is in percent, or a limit the metric can never cross fail the build.
Rules of a replicated job must be replica-safe: they say how the replicas combine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import promql_parser as pp

from api.metrics import UNIT_BOUNDS, Range
from authoring import config
from authoring.catalog import spec_of
from authoring.rules_dsl import (
    SEVERITIES,
    AlertingRule,
    AlertTest,
    RecordTest,
    RuleGroup,
    Threshold,
    format_number,
    parse_duration,
)
from generator import promcheck
from generator.errors import BuildError
from generator.grafana_alerting import uid as grafana_uid
from generator.onsets import onset_seconds

__all__ = ["validate"]

_GROUP_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ALERT_NAME = re.compile(r"[A-Z][A-Za-z0-9]+")
_RECORD_NAME = re.compile(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _fail(where: str, reason: str) -> BuildError:
    return BuildError(f"{where}: {reason}")


def _check_expr(where: str, expr: str, known: set[str]) -> None:
    problems = promcheck.check_expr(expr, known)
    if problems:
        raise _fail(where, "; ".join(problems))


def _check_replicas(where: str, expr: str) -> None:
    """A rule of a replicated job says how its replicas combine (see promcheck)."""
    problems = promcheck.replica_problems(
        expr, promcheck.gauge_series(), promcheck.counter_series(), config.REPLICATED_JOBS
    )
    if problems:
        raise _fail(where, "not replica-safe: " + "; ".join(problems))


def _check_series(where: str, test: AlertTest | RecordTest, known: set[str]) -> None:
    if not test.series:
        raise _fail(where, "a test without input series")
    for series in test.series:
        _check_expr(f"{where}: series {series.series}", series.series, known)


def _check_test(where: str, alert: AlertingRule, test: AlertTest, known: set[str]) -> None:
    _check_series(where, test, known)
    times = [t for t in (test.onset, *test.quiet_at) if t is not None]
    try:
        step = parse_duration(test.interval)
        seconds = [parse_duration(t) for t in (*times, alert.for_)]
    except ValueError as exc:
        raise _fail(where, str(exc)) from None
    # promtool evaluates the rules once per interval: every time must fall on an evaluation.
    if step % 60 or any(s % step for s in seconds):
        raise _fail(
            where, "interval must be whole minutes; onset, quiet_at and for: whole intervals"
        )
    if test.onset is not None and not test.fires:
        raise _fail(where, "an onset without the alerts expected to fire")
    if not test.fires:
        return
    onset = onset_seconds(alert, test)
    if onset is None:
        raise _fail(
            where,
            "cannot derive when the expression first holds from these series: give onset=",
        )
    if onset < step:
        raise _fail(
            where, "onset must be at least one interval: the not-yet-firing case comes before it"
        )


def _bounds(threshold: Threshold) -> tuple[str, Range]:
    """What the threshold compares (a series name, for messages) and its values' range."""
    unit = threshold.query_unit
    assert unit is not None
    node = promcheck.parse(threshold.query)
    # A gauge's max, min or average across (or per) replicas stays within the gauge's range.
    if isinstance(node, pp.AggregateExpr) and str(node.op) in {"max", "min", "avg"}:
        node = node.expr
    if isinstance(node, pp.VectorSelector) and node.name:
        spec = spec_of(node.name)
        return node.name, spec.bounds if spec is not None else UNIT_BOUNDS.get(unit, (None, None))
    return "the query", UNIT_BOUNDS.get(unit, (None, None))


def _check_threshold(where: str, threshold: Threshold) -> None:
    if threshold.query_unit is None:
        raise _fail(
            where,
            "the threshold's query does not say what it measures: build it with the query "
            "helpers or give Threshold(..., unit=)",
        )
    what, (low, high) = _bounds(threshold)
    value, unit = threshold.value, threshold.query_unit
    if unit == "percent" and 0 < abs(value) < 1:
        raise _fail(
            where,
            f"threshold {format_number(value)} reads as a ratio, but {what} is in percent "
            f"(0-100): for {format_number(value * 100)} % write {format_number(value * 100)}",
        )
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"[{'-inf' if low is None else format_number(low)}, "
        span += f"{'+inf' if high is None else format_number(high)}]"
        raise _fail(
            where, f"threshold {format_number(value)} is outside {what}'s range {span} ({unit})"
        )


def _check_alert(where: str, alert: AlertingRule, known: set[str]) -> None:
    if not _ALERT_NAME.fullmatch(alert.name):
        raise _fail(where, "alert names are CamelCase")
    if alert.severity not in SEVERITIES:
        raise _fail(where, f"severity {alert.severity!r} is not one of {', '.join(SEVERITIES)}")
    for key in ("summary", "description"):
        if not alert.all_annotations.get(key, "").strip():
            raise _fail(where, f"missing annotation {key}")
    if "{{" not in alert.summary + alert.description:
        raise _fail(where, "summary or description must template a value ({{ $value }}, $labels)")
    if (alert.threshold is None) == (alert.expression is None):
        raise _fail(where, "give exactly one of threshold or expression")
    for label in alert.labels:
        if not _LABEL_NAME.fullmatch(label):
            raise _fail(where, f"invalid label name {label!r}")
    if not alert.backends or set(alert.backends) - {"prometheus", "grafana"}:
        raise _fail(where, f"backends must be prometheus and/or grafana, not {alert.backends}")
    if "grafana" in alert.backends and alert.threshold is None:
        raise _fail(where, "a Grafana-managed alert needs a threshold, not a free expression")
    if "grafana" in alert.backends and len(grafana_uid(alert)) > 40:
        raise _fail(where, f"Grafana uid {grafana_uid(alert)} is longer than 40 characters")
    try:
        parse_duration(alert.for_)
    except ValueError as exc:
        raise _fail(where, f"for: {exc}") from None
    _check_expr(where, alert.expr, known)
    if alert.threshold is not None:
        _check_threshold(where, alert.threshold)
    for test in alert.tests:
        _check_test(f"{where}: test {test.name!r}", alert, test, known)
    if "prometheus" in alert.backends and not any(t.fires for t in alert.tests):
        raise _fail(
            where, "no test of it firing: the not-yet-firing and firing cases at for: are required"
        )
    _check_replicas(where, alert.expr)


def _check_record_test(where: str, test: RecordTest, known: set[str]) -> None:
    _check_series(where, test, known)
    try:
        parse_duration(test.at)
        parse_duration(test.interval)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


def validate(groups: Iterable[RuleGroup], origin: Callable[[str], str] | None = None) -> None:
    """Raise BuildError with a one-line reason on the first broken group or rule.

    `origin` maps a group name to its source file, which then starts the message.
    """
    groups = tuple(groups)
    known = promcheck.known_series(r.record for g in groups for r in g.records)
    seen_groups: set[str] = set()
    seen_rules: set[str] = set()
    for group in groups:
        prefix = f"{origin(group.name)}: " if origin is not None else ""
        if not _GROUP_NAME.fullmatch(group.name):
            raise _fail(prefix + group.name, "group names are lower-case words joined by hyphens")
        if group.name in seen_groups:
            raise _fail(prefix + group.name, "duplicate group name")
        seen_groups.add(group.name)
        if not group.rules:
            raise _fail(prefix + group.name, "empty group")
        if group.interval is not None:
            try:
                parse_duration(group.interval)
            except ValueError as exc:
                raise _fail(prefix + group.name, f"interval: {exc}") from None
        for rule in group.rules:
            is_alert = isinstance(rule, AlertingRule)
            name = rule.name if isinstance(rule, AlertingRule) else rule.record
            where = f"{prefix}{group.name}/{name}"
            if name in seen_rules:
                raise _fail(where, f"duplicate {'alert' if is_alert else 'record'} name")
            seen_rules.add(name)
            if isinstance(rule, AlertingRule):
                _check_alert(where, rule, known)
                continue
            if not _RECORD_NAME.fullmatch(rule.record):
                raise _fail(where, "record names are level:metric:operations")
            _check_expr(where, rule.expr, known)
            _check_replicas(where, rule.expr)
            for test in rule.tests:
                _check_record_test(f"{where}: test {test.name!r}", test, known)
