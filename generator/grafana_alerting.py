"""Grafana-managed alerting in Grafana's file-provisioning shape, and its equivalence check.

grafanalib's AlertRulev9 emits the ruler-API shape (rules nested in `grafana_alert`), which
Grafana does not read from disk; this thin layer builds the provisioning file shape directly:
A (the Prometheus query) -> B (reduce: last) -> C (the comparison), C being the condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import promql_parser
import yaml

from authoring import config
from authoring.profiles import Profile
from authoring.rules_dsl import AlertingRule, RuleGroup, format_number, parse_duration

__all__ = [
    "CONTACT_POINT",
    "EXPRESSION_UID",
    "OPERATORS",
    "THRESHOLD_TYPES",
    "contact_points",
    "equivalence_problems",
    "policies",
    "rule",
    "rule_group",
    "uid",
]

ORG_ID = 1
# Grafana's pseudo-datasource for server-side expressions (reduce, threshold, math).
EXPRESSION_UID = "__expr__"
CONTACT_POINT = "bikewatch-alertmanager"
# PromQL comparison -> Grafana 11.2's threshold evaluator. It knows `gt` and `lt` only (gte,
# lte, eq and ne arrived in Grafana 11.6: an 11.2 server fails to build such a condition).
THRESHOLD_TYPES = {">": "gt", "<": "lt"}
# The other comparisons become a math expression (`$B >= 0.3`): 1 when true, 0 when false, and
# a condition fires on non-zero.
OPERATORS = (">", "<", ">=", "<=", "==", "!=")
_MATH = re.compile(r"\$B (>=|<=|==|!=) (-?[0-9.]+(?:e[-+]?[0-9]+)?)")
# The query window Grafana asks Prometheus for; the instant query reads its end, and ten
# minutes leaves room for Prometheus's five-minute staleness lookback.
QUERY_RANGE_SECONDS = 600
# Templates: Prometheus's `$value` is Grafana's `$values.B.Value` (the reduced number).
_VALUE = re.compile(r"\$value\b")


def uid(alert: AlertingRule) -> str:
    """A stable uid from the alert's name (Grafana allows 40 characters)."""
    return f"bikewatch-{alert.name.lower()}"


def _template(text: str) -> str:
    return _VALUE.sub("$values.B.Value", text)


def _comparison(op: str, value: float) -> dict[str, Any]:
    """C's model: a threshold where Grafana 11.2 has the evaluator, else a math expression."""
    if op in THRESHOLD_TYPES:
        return {
            "conditions": [{"evaluator": {"params": [value], "type": THRESHOLD_TYPES[op]}}],
            "expression": "B",
            "type": "threshold",
        }
    return {"expression": f"$B {op} {format_number(value)}", "type": "math"}


def _read_comparison(model: Mapping[str, Any]) -> tuple[str, str] | None:
    """(operator, threshold) of C's model, whichever form it has; None when it is neither."""
    if model.get("type") == "threshold" and model.get("expression") == "B":
        evaluator = model["conditions"][0]["evaluator"]
        ops = {v: k for k, v in THRESHOLD_TYPES.items()}
        return ops.get(evaluator["type"], evaluator["type"]), format_number(evaluator["params"][0])
    match = _MATH.fullmatch(str(model.get("expression", "")))
    if model.get("type") == "math" and match:
        return match.group(1), format_number(float(match.group(2)))
    return None


def rule(alert: AlertingRule) -> dict[str, Any]:
    """One alert as a flat provisioning rule; requires a `threshold`."""
    if alert.threshold is None:
        raise ValueError(f"{alert.name}: a Grafana rule needs a threshold, not a free expression")
    t = alert.threshold
    expr_source = {"type": "__expr__", "uid": EXPRESSION_UID}
    return {
        "uid": uid(alert),
        "title": alert.name,
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": QUERY_RANGE_SECONDS, "to": 0},
                "datasourceUid": config.PROMETHEUS_DATASOURCE_UID,
                "model": {
                    "datasource": {"type": "prometheus", "uid": config.PROMETHEUS_DATASOURCE_UID},
                    "editorMode": "code",
                    "expr": t.query,
                    "instant": True,
                    "range": False,
                    "refId": "A",
                },
            },
            {
                "refId": "B",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": EXPRESSION_UID,
                "model": {
                    "datasource": expr_source,
                    "expression": "A",
                    "reducer": "last",
                    "refId": "B",
                    "type": "reduce",
                },
            },
            {
                "refId": "C",
                "relativeTimeRange": {"from": 0, "to": 0},
                "datasourceUid": EXPRESSION_UID,
                "model": {"datasource": expr_source, "refId": "C", **_comparison(t.op, t.value)},
            },
        ],
        # No series: the API is down or never evaluated, which the API-down alert already covers.
        "noDataState": "OK",
        "execErrState": "Error",
        "for": alert.for_,
        "labels": alert.all_labels,
        "annotations": {k: _template(v) for k, v in alert.all_annotations.items()},
        "isPaused": False,
    }


def rule_group(group: RuleGroup) -> dict[str, Any] | None:
    """The provisioning file of a group's Grafana alerts, or None when it has none."""
    rules = [rule(a) for a in group.alerts if "grafana" in a.backends]
    if not rules:
        return None
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": ORG_ID,
                "name": group.name,
                "folder": config.GRAFANA_ALERT_FOLDER,
                "interval": config.GRAFANA_RULE_INTERVAL,
                "rules": rules,
            }
        ],
    }


def contact_points(profile: Profile) -> dict[str, Any]:
    """Grafana's alerts go to the stack's Alertmanager, like Prometheus's."""
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": ORG_ID,
                "name": CONTACT_POINT,
                "receivers": [
                    {
                        "uid": CONTACT_POINT,
                        "type": "prometheus-alertmanager",
                        "settings": {"url": f"http://{profile.alertmanager}"},
                        "disableResolveMessage": False,
                    }
                ],
            }
        ],
    }


def policies() -> dict[str, Any]:
    """The root notification policy: everything to the Alertmanager contact point, which routes
    by severity itself."""
    return {
        "apiVersion": 1,
        "policies": [
            {
                "orgId": ORG_ID,
                "receiver": CONTACT_POINT,
                "group_by": ["grafana_folder", "alertname"],
                "group_wait": "10s",
                "group_interval": config.ALERTMANAGER_GROUP_INTERVAL,
                # Grafana sends each alert to Alertmanager with an endsAt a few evaluation
                # intervals ahead; re-sending it less often lets Alertmanager resolve an alert
                # that still fires. Alertmanager deduplicates and applies its own repeats.
                "repeat_interval": config.ALERTMANAGER_GROUP_INTERVAL,
            }
        ],
    }


def _normal(expr: str) -> str:
    return str(promql_parser.parse(expr).prettify())


def _one(problems: list[str], name: str, what: str, grafana: object, prometheus: object) -> None:
    if grafana != prometheus:
        problems.append(f"{name}: {what} differs: grafana {grafana!r}, prometheus {prometheus!r}")


def _compare(name: str, g: Mapping[str, Any], p: Mapping[str, Any], problems: list[str]) -> None:
    tree = promql_parser.parse(p["expr"])
    op = str(getattr(tree, "op", ""))
    if (
        not isinstance(tree, promql_parser.BinaryExpr)
        or op not in OPERATORS
        or not isinstance(tree.rhs, promql_parser.NumberLiteral)
    ):
        problems.append(f"{name}: the Prometheus rule is not `query <comparison> number`")
        return
    data = {d["refId"]: d for d in g["data"]}
    if set(data) != {"A", "B", "C"} or g["condition"] != "C":
        problems.append(f"{name}: Grafana rule is not the A -> B -> C chain with condition C")
        return
    a, b, c = data["A"], data["B"]["model"], data["C"]["model"]
    _one(problems, name, "query", _normal(a["model"]["expr"]), _normal(str(tree.lhs)))
    _one(problems, name, "datasource", a["datasourceUid"], config.PROMETHEUS_DATASOURCE_UID)
    _one(
        problems,
        name,
        "reduction",
        (b["type"], b["expression"], b["reducer"]),
        ("reduce", "A", "last"),
    )
    comparison = _read_comparison(c)
    if comparison is None:
        problems.append(f"{name}: C is neither a threshold nor a `$B <op> number` math expression")
        return
    _one(problems, name, "comparison", comparison[0], op)
    _one(problems, name, "threshold", comparison[1], format_number(tree.rhs.val))
    _one(problems, name, "for", parse_duration(g["for"]), parse_duration(p.get("for", "0s")))
    _one(problems, name, "severity", g["labels"].get("severity"), p["labels"].get("severity"))


def equivalence_problems(
    prometheus_files: Iterable[str], grafana_files: Iterable[str]
) -> list[str]:
    """Where a Grafana rule's query, threshold, `for` or severity differ from the Prometheus
    alert of the same name (read back from the generated YAML texts); empty when they match."""
    prometheus: dict[str, Mapping[str, Any]] = {}
    for text in prometheus_files:
        for group in yaml.safe_load(text)["groups"]:
            for r in group["rules"]:
                if "alert" in r:
                    prometheus[r["alert"]] = r
    problems: list[str] = []
    for text in grafana_files:
        for group in yaml.safe_load(text).get("groups", []):
            for g in group["rules"]:
                p = prometheus.get(g["title"])
                if p is None:
                    continue  # Grafana-only alerts have nothing to match
                _compare(g["title"], g, p, problems)
    return problems
