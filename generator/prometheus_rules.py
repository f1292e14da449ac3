"""Compiles rule groups into Prometheus rule files, their promtool tests and Grafana-managed
alerts, after validating them (`rule_check`).

A test's expected annotations are the rule's own summary and description, rendered as
Prometheus renders them (`go_templates`) from the test's labels and `$value`; the
not-yet-firing and firing cases sit at the `for:` boundary after the onset (`onsets`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from authoring.rules_dsl import (
    AlertingRule,
    AlertTest,
    Fires,
    RecordingRule,
    RecordTest,
    RuleGroup,
    format_duration,
    parse_duration,
)
from generator import grafana_alerting, promcheck
from generator.errors import BuildError
from generator.go_templates import TemplateError, render
from generator.onsets import onset_seconds
from generator.rule_check import validate
from generator.yaml_out import dump

__all__ = ["GRAFANA_ALERTING_DIR", "RULES_DIR", "TESTS_DIR", "compile_groups"]

RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
GRAFANA_ALERTING_DIR = "grafana/provisioning/alerting"
# Tests run minute by minute unless they say otherwise (AlertTest.interval).
TEST_STEP_SECONDS = 60


def _rule(r: AlertingRule | RecordingRule) -> dict[str, Any]:
    if isinstance(r, RecordingRule):
        out: dict[str, Any] = {"record": r.record, "expr": str(r.expr)}
        if r.labels:
            out["labels"] = dict(r.labels)
        return out
    return {
        "alert": r.name,
        "expr": str(r.expr),
        "for": r.for_,
        "labels": r.all_labels,
        "annotations": r.all_annotations,
    }


def _rule_file(group: RuleGroup) -> str:
    rules = [
        _rule(r) for r in group.rules if isinstance(r, RecordingRule) or "prometheus" in r.backends
    ]
    body: dict[str, Any] = {"name": group.name, "rules": rules}
    if group.interval is not None:
        body["interval"] = group.interval
    return dump({"groups": [body]})


def _prometheus_groups(groups: Iterable[RuleGroup]) -> tuple[RuleGroup, ...]:
    """Groups with something for Prometheus to evaluate."""
    return tuple(
        g for g in groups if g.records or any("prometheus" in a.backends for a in g.alerts)
    )


def _expected(alert: AlertingRule, fires: Fires, where: str) -> dict[str, Any]:
    """One expected alert: the data's labels plus the rule's, and its rendered annotations."""
    try:
        annotations = {
            key: render(text, fires.labels, fires.value)
            for key, text in alert.all_annotations.items()
        }
    except TemplateError as exc:
        raise BuildError(f"{where}: {exc}") from None
    return {"exp_labels": {**fires.labels, **alert.all_labels}, "exp_annotations": annotations}


def _case(alert: AlertingRule, at: int, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"alertname": alert.name, "eval_time": format_duration(at), "exp_alerts": expected}


def _test(alert: AlertingRule, test: AlertTest) -> dict[str, Any]:
    where = f"{alert.name}: test {test.name!r}"
    cases = []
    onset = onset_seconds(alert, test)
    if test.fires and onset is not None:
        fires_at = onset + parse_duration(alert.for_)
        # The for: boundary: pending one evaluation before, firing at it.
        cases.append(_case(alert, fires_at - parse_duration(test.interval), []))
        cases.append(_case(alert, fires_at, [_expected(alert, f, where) for f in test.fires]))
    cases.extend(_case(alert, parse_duration(t), []) for t in test.quiet_at)
    return {
        "name": f"{alert.name}: {test.name}",
        "interval": test.interval,
        "input_series": [{"series": s.series, "values": s.values} for s in test.series],
        "alert_rule_test": sorted(cases, key=lambda c: parse_duration(c["eval_time"])),
    }


def _record_test(rule: RecordingRule, test: RecordTest) -> dict[str, Any]:
    return {
        "name": f"{rule.record}: {test.name}",
        "interval": test.interval,
        "input_series": [{"series": s.series, "values": s.values} for s in test.series],
        "promql_expr_test": [
            {
                "expr": rule.record,
                "eval_time": test.at,
                "exp_samples": [
                    {"labels": str(rule.sel(**s.labels)), "value": s.value} for s in test.samples
                ],
            }
        ],
    }


def _test_files(group: RuleGroup, groups: tuple[RuleGroup, ...]) -> dict[str, str]:
    """The group's promtool test files by name: one per evaluation interval of its tests.

    promtool evaluates a whole file at one interval; a test over days (staleness) runs at a
    coarser one than the minute-by-minute `for:` tests, in `<group>_every_<interval>_test.yml`.
    """
    alerts = [a for a in group.alerts if "prometheus" in a.backends and a.tests]
    records = [r for r in group.records if r.tests]
    if not alerts and not records:
        return {}
    producer = {r.record: g for g in groups for r in g.records}
    needed: list[RuleGroup] = []
    for expr in [a.expr for a in alerts] + [r.expr for r in records]:
        for name in sorted(promcheck.metric_names(expr)):
            dependency = producer.get(name)
            if dependency is not None and dependency not in needed and dependency != group:
                needed.append(dependency)
    # Records before the alerts that read them, at the same evaluation.
    order = [*needed, group]
    tests: dict[int, list[dict[str, Any]]] = {}
    for record in records:
        for record_test in record.tests:
            step = parse_duration(record_test.interval)
            tests.setdefault(step, []).append(_record_test(record, record_test))
    for alert in alerts:
        for alert_test in alert.tests:
            tests.setdefault(parse_duration(alert_test.interval), []).append(
                _test(alert, alert_test)
            )
    files = {}
    for step, cases in sorted(tests.items()):
        every = "" if step == TEST_STEP_SECONDS else f"_every_{format_duration(step)}"
        files[f"{group.name}{every}_test.yml"] = dump(
            {
                "rule_files": [f"../rules/{g.name}.yml" for g in order],
                "evaluation_interval": format_duration(step),
                "group_eval_order": [g.name for g in order],
                "tests": cases,
            }
        )
    return files


def compile_groups(
    groups: Iterable[RuleGroup], origin: Callable[[str], str] | None = None
) -> dict[str, str]:
    """Rule files, promtool tests and Grafana-managed rules of `groups`, validated first.

    The build gives the groups the project-wide final pass (`runbook.finalize`) before this;
    `origin` names a group's source file in error messages."""
    groups = tuple(groups)
    validate(groups, origin)
    files: dict[str, str] = {}
    for group in _prometheus_groups(groups):
        files[f"{RULES_DIR}/{group.name}.yml"] = _rule_file(group)
        for name, text in _test_files(group, groups).items():
            files[f"{TESTS_DIR}/{name}"] = text
    for group in groups:
        provisioning = grafana_alerting.rule_group(group)
        if provisioning is not None:
            files[f"{GRAFANA_ALERTING_DIR}/{group.name}.yaml"] = dump(provisioning)
    problems = grafana_alerting.equivalence_problems(
        (t for p, t in files.items() if p.startswith(RULES_DIR)),
        (t for p, t in files.items() if p.startswith(GRAFANA_ALERTING_DIR)),
    )
    if problems:
        raise BuildError(problems[0])
    return files
