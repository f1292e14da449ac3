"""Compiles the rule groups into Prometheus rule files, promtool tests, Grafana-managed alerts,
and the Prometheus and Alertmanager configs of each profile (a `bikewatch.generate` producer).

Every check runs before anything is written: a broken rule stops `make generate` with a
one-line `BuildError` naming the group, the rule and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from bikewatch import config
from bikewatch.generate import BuildError
from bikewatch.profiles import COMPOSE, LOCAL, Profile
from bikewatch.promcheck import check_expr, known_series, metric_names
from rules_py import api, grafana, host, model, names
from rules_py.dsl import (
    SEVERITIES,
    AlertingRule,
    AlertTest,
    RecordingRule,
    RecordTest,
    RuleGroup,
    format_duration,
    parse_duration,
)
from rules_py.final_pass import finalize

__all__ = [
    "AREAS",
    "TEST_EVALUATION_INTERVAL",
    "all_groups",
    "compile_groups",
    "dump",
    "outputs",
    "recording_rules",
    "render_alertmanager_config",
    "render_prometheus_config",
    "validate",
]

AREAS = (api, model, host)
RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
GRAFANA_ALERTING_DIR = "grafana/provisioning/alerting"
# promtool evaluates every group once a minute in the tests: onsets and `for:` are in minutes.
TEST_EVALUATION_INTERVAL = 60
ALERTMANAGER_RECEIVER = "bike-api"

_GROUP_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ALERT_NAME = re.compile(r"[A-Z][A-Za-z0-9]+")
_RECORD_NAME = re.compile(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class _Dumper(yaml.SafeDumper):
    """SafeDumper without `&id001` anchors: a value shared in memory is written out each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(data: Any) -> str:
    """Deterministic YAML: sorted keys, block style, a trailing newline, no anchors."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True
    )


def _source_groups() -> tuple[RuleGroup, ...]:
    return tuple(group for area in AREAS for group in area.groups)


def all_groups() -> tuple[RuleGroup, ...]:
    """Every group of every area, after the project-wide final pass."""
    return finalize(_source_groups())


def recording_rules() -> tuple[RecordingRule, ...]:
    """Every recording rule (objects with `.record` and `.expr`), for dashboards and the lint."""
    return tuple(r for group in _source_groups() for r in group.records)


# --- Validation ------------------------------------------------------------------------------


def _fail(where: str, reason: str) -> BuildError:
    return BuildError(f"{where}: {reason}")


def _check_expr(where: str, expr: str, known: set[str]) -> None:
    problems = check_expr(expr, known)
    if problems:
        raise _fail(where, "; ".join(problems))


def _check_test(where: str, alert: AlertingRule, test: AlertTest, known: set[str]) -> None:
    if not test.series:
        raise _fail(where, "a test without input series")
    for series in test.series:
        _check_expr(f"{where}: series {series.series}", series.series, known)
    times = [t for t in (test.onset, *test.quiet_at) if t is not None]
    try:
        seconds = [parse_duration(t) for t in (*times, test.interval, alert.for_)]
    except ValueError as exc:
        raise _fail(where, str(exc)) from None
    if any(s % TEST_EVALUATION_INTERVAL for s in seconds):
        raise _fail(where, "onset, quiet_at, interval and for: must be whole minutes")
    if test.onset is not None and not test.fired:
        raise _fail(where, "an onset without the alerts expected to fire")
    if test.fired and test.onset is None:
        raise _fail(where, "expected alerts without the onset at which the expression holds")
    if test.onset is not None and parse_duration(test.onset) < TEST_EVALUATION_INTERVAL:
        raise _fail(where, "onset must be at least 1m: the not-yet-firing case comes before it")


def _check_record_test(where: str, test: RecordTest, known: set[str]) -> None:
    if not test.series:
        raise _fail(where, "a test without input series")
    for series in test.series:
        _check_expr(f"{where}: series {series.series}", series.series, known)
    try:
        parse_duration(test.at)
        parse_duration(test.interval)
    except ValueError as exc:
        raise _fail(where, str(exc)) from None


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
    if "grafana" in alert.backends and len(grafana.uid(alert)) > 40:
        raise _fail(where, f"Grafana uid {grafana.uid(alert)} is longer than 40 characters")
    try:
        parse_duration(alert.for_)
    except ValueError as exc:
        raise _fail(where, f"for: {exc}") from None
    _check_expr(where, alert.expr, known)
    for test in alert.tests:
        _check_test(f"{where}: test {test.name!r}", alert, test, known)
    if "prometheus" in alert.backends and not any(t.onset for t in alert.tests):
        raise _fail(
            where, "no test with an onset: firing and not-yet-firing cases at for: are required"
        )


def validate(groups: Iterable[RuleGroup]) -> None:
    """Raise BuildError with a one-line reason on the first broken group or rule."""
    groups = tuple(groups)
    known = known_series() | {r.record for g in groups for r in g.records}
    seen_groups: set[str] = set()
    seen_rules: set[str] = set()
    for group in groups:
        if not _GROUP_NAME.fullmatch(group.name):
            raise _fail(group.name, "group names are lower-case words joined by hyphens")
        if group.name in seen_groups:
            raise _fail(group.name, "duplicate group name")
        seen_groups.add(group.name)
        if not group.rules:
            raise _fail(group.name, "empty group")
        if group.interval is not None:
            try:
                parse_duration(group.interval)
            except ValueError as exc:
                raise _fail(group.name, f"interval: {exc}") from None
        for r in group.rules:
            name = r.name if isinstance(r, AlertingRule) else r.record
            where = f"{group.name}/{name}"
            if name in seen_rules:
                raise _fail(
                    where, f"duplicate {'alert' if isinstance(r, AlertingRule) else 'record'} name"
                )
            seen_rules.add(name)
            if isinstance(r, AlertingRule):
                _check_alert(where, r, known)
            else:
                if not _RECORD_NAME.fullmatch(r.record):
                    raise _fail(where, "record names are level:metric:operations")
                _check_expr(where, r.expr, known)
                for test in r.tests:
                    _check_record_test(f"{where}: test {test.name!r}", test, known)


# --- Prometheus rule files and promtool tests -------------------------------------------------


def _rule(r: AlertingRule | RecordingRule) -> dict[str, Any]:
    if isinstance(r, RecordingRule):
        out: dict[str, Any] = {"record": r.record, "expr": r.expr}
        if r.labels:
            out["labels"] = dict(r.labels)
        return out
    return {
        "alert": r.name,
        "expr": r.expr,
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


def _case(alert: AlertingRule, at: int, firing: bool, test: AlertTest) -> dict[str, Any]:
    expected = [
        {
            "exp_labels": {**f.labels, **alert.all_labels},
            "exp_annotations": {
                **alert.annotations,
                "summary": f.summary,
                "description": f.description,
            },
        }
        for f in test.fired
    ]
    return {
        "alertname": alert.name,
        "eval_time": format_duration(at),
        "exp_alerts": expected if firing else [],
    }


def _test(alert: AlertingRule, test: AlertTest) -> dict[str, Any]:
    cases = []
    if test.onset is not None:
        fires_at = parse_duration(test.onset) + parse_duration(alert.for_)
        # The for: boundary: pending one evaluation before, firing at it.
        cases.append(_case(alert, fires_at - TEST_EVALUATION_INTERVAL, False, test))
        cases.append(_case(alert, fires_at, True, test))
    cases.extend(_case(alert, parse_duration(t), False, test) for t in test.quiet_at)
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
                    {"labels": rule.sel(**s.labels), "value": s.value} for s in test.samples
                ],
            }
        ],
    }


def _test_file(group: RuleGroup, groups: tuple[RuleGroup, ...]) -> str | None:
    alerts = [a for a in group.alerts if "prometheus" in a.backends and a.tests]
    records = [r for r in group.records if r.tests]
    if not alerts and not records:
        return None
    producer = {r.record: g for g in groups for r in g.records}
    needed: list[RuleGroup] = []
    for expr in [a.expr for a in alerts] + [r.expr for r in records]:
        for name in sorted(metric_names(expr)):
            dependency = producer.get(name)
            if dependency is not None and dependency not in needed and dependency != group:
                needed.append(dependency)
    # Records before the alerts that read them, at the same evaluation.
    order = [*needed, group]
    return dump(
        {
            "rule_files": [f"../rules/{g.name}.yml" for g in order],
            "evaluation_interval": format_duration(TEST_EVALUATION_INTERVAL),
            "group_eval_order": [g.name for g in order],
            "tests": [
                *(_record_test(r, t) for r in records for t in r.tests),
                *(_test(a, t) for a in alerts for t in a.tests),
            ],
        }
    )


def compile_groups(groups: Iterable[RuleGroup]) -> dict[str, str]:
    """Rule files, promtool tests and Grafana-managed rules of `groups`, validated first."""
    groups = tuple(groups)
    validate(groups)
    files: dict[str, str] = {}
    for group in _prometheus_groups(groups):
        files[f"{RULES_DIR}/{group.name}.yml"] = _rule_file(group)
        test = _test_file(group, groups)
        if test is not None:
            files[f"{TESTS_DIR}/{group.name}_test.yml"] = test
    for group in groups:
        provisioning = grafana.rule_group(group)
        if provisioning is not None:
            files[f"{GRAFANA_ALERTING_DIR}/{group.name}.yaml"] = dump(provisioning)
    problems = grafana.equivalence_problems(
        (t for p, t in files.items() if p.startswith(RULES_DIR)),
        (t for p, t in files.items() if p.startswith(GRAFANA_ALERTING_DIR)),
    )
    if problems:
        raise BuildError(problems[0])
    return files


# --- Prometheus and Alertmanager configs -------------------------------------------------------


def render_prometheus_config(profile: Profile) -> str:
    """prometheus.yml for a profile: its scrape jobs, our rule files, its Alertmanager."""
    return dump(
        {
            "global": {
                "scrape_interval": profile.scrape_interval,
                "evaluation_interval": profile.evaluation_interval,
            },
            "rule_files": [f"{profile.rules_dir}/*.yml"],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [profile.alertmanager]}]}]
            },
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in profile.targets().items()
            ],
        }
    )


def render_alertmanager_config(profile: Profile) -> str:
    """alertmanager.yml for a profile: routes by severity, all to the API's webhook."""
    return dump(
        {
            "route": {
                "receiver": ALERTMANAGER_RECEIVER,
                "group_by": ["alertname", "job"],
                "group_wait": config.ALERTMANAGER_TIMING["warning"]["group_wait"],
                "group_interval": config.ALERTMANAGER_GROUP_INTERVAL,
                "repeat_interval": config.ALERTMANAGER_TIMING["warning"]["repeat_interval"],
                "routes": [
                    {
                        "matchers": [f'severity="{severity}"'],
                        "receiver": ALERTMANAGER_RECEIVER,
                        **config.ALERTMANAGER_TIMING[severity],
                    }
                    for severity in SEVERITIES
                ],
            },
            # While the API is down its warnings add nothing to the page. Only BikeApiDown
            # inhibits: other critical alerts (errors, no model) must not mute the drift and
            # quality warnings the retraining webhook acts on.
            "inhibit_rules": [
                {
                    "source_matchers": [f'alertname="{names.BIKE_API_DOWN}"'],
                    "target_matchers": ['severity="warning"'],
                    "equal": ["job", "instance"],
                }
            ],
            "receivers": [
                {
                    "name": ALERTMANAGER_RECEIVER,
                    "webhook_configs": [{"url": profile.alert_webhook_url, "send_resolved": True}],
                }
            ],
        }
    )


def outputs() -> dict[str, str]:
    """Everything rules_py writes under generated/ (the producer `bikewatch.generate` calls)."""
    files = compile_groups(all_groups())
    files[f"{GRAFANA_ALERTING_DIR}/contact-points.yaml"] = dump(grafana.contact_points(COMPOSE))
    files[f"{GRAFANA_ALERTING_DIR}/policies.yaml"] = dump(grafana.policies())
    files["prometheus/prometheus.yml"] = render_prometheus_config(COMPOSE)
    files["alertmanager/alertmanager.yml"] = render_alertmanager_config(COMPOSE)
    files["local/prometheus/prometheus.yml"] = render_prometheus_config(LOCAL)
    files["local/alertmanager/alertmanager.yml"] = render_alertmanager_config(LOCAL)
    return dict(sorted(files.items()))
