"""The rules DSL: typed alerting and recording rules, their groups, and the tests beside them.

An alert is declared once and compiled for each backend it names (Prometheus, Grafana-managed);
its promtool tests sit next to it, declaring input series and what fires (the labels and the
`$value`: the build renders the rule's own summary and description from them). The evaluation
at which the expression first holds (`onset`) is derived by the build where the series make it
plain (a gauge against its threshold, counters growing at a constant rate), and the not-yet-firing
and firing cases at the `for:` boundary are always generated.

Example:
    >>> from api.metrics import MODEL_RMSE
    >>> from authoring.promql import sel
    >>> rule = AlertingRule(
    ...     name="ModelRmseHigh",
    ...     threshold=Threshold(sel(MODEL_RMSE), ">", 100),
    ...     for_="1m",
    ...     severity="warning",
    ...     summary="RMSE is high",
    ...     description="RMSE is {{ $value }}",
    ... )
    >>> rule.expr == sel(MODEL_RMSE) + " > 100"
    True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from api.metrics import MetricSpec, Unit
from authoring.promql import Expr, matchers

__all__ = [
    "BOTH",
    "GRAFANA",
    "PROMETHEUS",
    "SEVERITIES",
    "AlertTest",
    "AlertingRule",
    "Backend",
    "Fires",
    "Op",
    "RecordTest",
    "RecordingRule",
    "Rule",
    "RuleGroup",
    "Sample",
    "Series",
    "Severity",
    "Threshold",
    "format_duration",
    "format_number",
    "parse_duration",
    "record_name",
]

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("critical", "warning", "info")
Backend = Literal["prometheus", "grafana"]
PROMETHEUS: tuple[Backend, ...] = ("prometheus",)
GRAFANA: tuple[Backend, ...] = ("grafana",)
BOTH: tuple[Backend, ...] = ("prometheus", "grafana")
Op = Literal[">", "<", ">=", "<=", "==", "!="]

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus duration made of d/h/m/s parts (`1h30m`); ValueError otherwise."""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"not a duration: {text!r}")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def format_duration(seconds: int) -> str:
    """The shortest h/m/s spelling promtool and Prometheus accept (`3660` -> `1h1m`)."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in _UNITS[1:]:  # no days: `24h` reads better in a test than `1d`
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_number(value: float) -> str:
    """A threshold as PromQL and Grafana both spell it: `100`, not `100.0`; `0.05` as is."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def record_name(level: str, metric: MetricSpec, operations: str, suffix: str = "") -> str:
    """`level:metric:operations`, the metric part derived from the spec (counters lose `_total`).

    `suffix` narrows the metric part for a filtered view of it (`api_requests` + `_5xx`).
    """
    return f"{level}:{metric.name.removesuffix('_total')}{suffix}:{operations}"


@dataclass(frozen=True)
class Threshold:
    """`query op value`: the comparison an alert fires on, kept apart so every backend can
    rebuild it (Grafana needs the query and the threshold as separate steps).

    The build checks `value` against the query's unit and valid range (a ratio is 0-1, MAPE is in
    percent); the unit comes from the query (`promql.sel` of a catalog metric, a recording rule)
    or, for a composed expression, from `unit`.
    """

    query: str
    op: Op
    value: float
    unit: Unit | None = None

    @property
    def expr(self) -> str:
        return f"{self.query} {self.op} {format_number(self.value)}"

    @property
    def query_unit(self) -> Unit | None:
        if self.unit is not None:
            return self.unit
        return self.query.unit if isinstance(self.query, Expr) else None


@dataclass(frozen=True)
class Series:
    """One input series of a promtool test, in its expanding notation (`0+60x10`, `1 1 0x5`)."""

    series: str
    values: str


@dataclass(frozen=True)
class Fires:
    """One alert expected to fire: its labels from the data (the rule's own labels are added by
    the compiler) and the `$value` its summary and description are rendered with (needed only
    when they show it)."""

    labels: Mapping[str, str]
    value: float | None = None


@dataclass(frozen=True)
class AlertTest:
    """A promtool test of one alert, evaluated every `interval` from time 0.

    `onset` is the first evaluation at which the expression holds; the compiler emits the
    not-yet-firing case at `onset + for - 1m` and the firing case at `onset + for`, so
    promtool proves both the onset and the `for:` boundary. Leave it out where the build can
    derive it: a threshold on one gauge whose series is given, or series of counters growing at a
    constant rate from 0 (the expression holds as soon as the window has two samples).
    `quiet_at` adds evaluations at which nothing may fire (for data that must never alert).
    """

    name: str
    series: tuple[Series, ...]
    fires: tuple[Fires, ...] = ()
    onset: str | None = None
    quiet_at: tuple[str, ...] = ()
    interval: str = "1m"


@dataclass(frozen=True)
class AlertingRule:
    """One alert, declared once for every backend it compiles to.

    Give either `threshold` (required for Grafana) or a free `expression` built from the query
    helpers. `runbook` is the anchor of its section in rules_py/RUNBOOK.md (default: the name,
    lower-cased, as Markdown renderers derive it from a `## Name` heading).
    """

    name: str
    for_: str
    severity: Severity
    summary: str
    description: str
    threshold: Threshold | None = None
    expression: str | None = None
    runbook: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    backends: tuple[Backend, ...] = PROMETHEUS
    tests: tuple[AlertTest, ...] = ()
    # While this alert fires, Alertmanager mutes alerts of this severity on the same job and
    # instance (the API down makes its own warnings noise).
    inhibits: Severity | None = None

    @property
    def expr(self) -> str:
        if self.threshold is not None:
            return self.threshold.expr
        return self.expression or ""

    @property
    def anchor(self) -> str:
        return self.runbook or self.name.lower()

    @property
    def all_labels(self) -> dict[str, str]:
        """What the alert carries beyond the data's labels: `severity` and the rule's labels."""
        return {**self.labels, "severity": self.severity}

    @property
    def all_annotations(self) -> dict[str, str]:
        return {**self.annotations, "summary": self.summary, "description": self.description}


@dataclass(frozen=True)
class Sample:
    """One expected sample of a recorded series: its labels and value."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class RecordTest:
    """A promtool expression test of one recording rule: the samples it holds at `at`."""

    name: str
    series: tuple[Series, ...]
    at: str
    samples: tuple[Sample, ...]
    interval: str = "1m"


@dataclass(frozen=True)
class RecordingRule:
    """A precomputed series named `level:metric:operations`; alerts and dashboards select it
    with `.sel()`, so its name is typed once. `unit` is what the recorded value measures (taken
    from `expr` when the query helpers know it)."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)
    tests: tuple[RecordTest, ...] = ()
    unit: Unit | None = None

    @property
    def value_unit(self) -> Unit | None:
        if self.unit is not None:
            return self.unit
        return self.expr.unit if isinstance(self.expr, Expr) else None

    def sel(self, **labels: str) -> Expr:
        return Expr(self.record + matchers(labels), self.value_unit)


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True)
class RuleGroup:
    """A Prometheus rule group, compiled to `prometheus/rules/<name>.yml`.

    `interval=None` follows Prometheus's global evaluation_interval, so a stack rendered with a
    faster one (the end-to-end test) evaluates these rules faster too.
    """

    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None

    @property
    def alerts(self) -> tuple[AlertingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AlertingRule))

    @property
    def records(self) -> tuple[RecordingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, RecordingRule))
