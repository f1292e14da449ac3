"""PromQL query helpers shared by dashboards and rules, built on metric objects, never names.

Every helper takes a `MetricSpec` (from `api.metrics` or `authoring.node_exporter`) and returns
an `Expr`: PromQL text that remembers the unit of its value where the helper knows it (a gauge
read as is, a quantile of a histogram, an age), so panels and alert thresholds take their unit
from the catalog instead of restating it.

Example:
    >>> from api.metrics import API_REQUESTS
    >>> rate(API_REQUESTS, by=("endpoint",), job="bike-api")
    'sum by (endpoint) (rate(api_requests_total{job="bike-api"}[$__rate_interval]))'
"""

from __future__ import annotations

from collections.abc import Iterable

from api.metrics import MetricSpec, Unit
from authoring.config import REPLICA_LABELS

__all__ = [
    "RATE_INTERVAL",
    "Expr",
    "across_replicas",
    "age",
    "avg_by",
    "histogram_quantile",
    "increase",
    "label_values",
    "latest",
    "matchers",
    "newest_age",
    "per_replica",
    "predict_linear",
    "rate",
    "sel",
    "sum_by",
]

# Grafana's own interval: at least four scrapes, so rate() never sees fewer than two samples.
RATE_INTERVAL = "$__rate_interval"


class Expr(str):
    """PromQL text, plus the unit of the value it selects when that is known (else None).

    Concatenating or formatting an Expr gives a plain str: a new expression's unit is whatever
    its author says, never guessed.
    """

    unit: Unit | None

    def __new__(cls, text: str, unit: Unit | None = None) -> Expr:
        expr = super().__new__(cls, text)
        expr.unit = unit
        return expr


def _unit(expr: str) -> Unit | None:
    return expr.unit if isinstance(expr, Expr) else None


def matchers(labels: dict[str, str]) -> str:
    """`{a="x",b=~"y"}` from a dict; a value starting with `~`, `!` or `!~` picks the operator."""
    if not labels:
        return ""
    parts = []
    for key, value in sorted(labels.items()):
        op = "="
        for prefix in ("!~", "=~", "!=", "~"):
            if value.startswith(prefix):
                op = {"~": "=~"}.get(prefix, prefix)
                value = value[len(prefix) :]
                break
        parts.append(f'{key}{op}"{value}"')
    return "{" + ",".join(parts) + "}"


def sel(metric: MetricSpec, series: str | None = None, **labels: str) -> Expr:
    """A selector for a metric (or one of a histogram's series: `metric.bucket`)."""
    name = series if series is not None else metric.name
    if name not in metric.series_names:
        raise ValueError(f"{name} is not a series of {metric.name}")
    # A histogram's buckets and count are counts of observations, not the metric's unit.
    unit = metric.unit if series is None or series == metric.sum else "events"
    return Expr(name + matchers(labels), unit if metric.kind != "counter" else None)


def sum_by(expr: str, by: Iterable[str] = ()) -> Expr:
    """`sum by (...)`: keeps the unit (a total of requests in flight is requests in flight)."""
    by = tuple(by)
    return Expr(f"sum by ({', '.join(by)}) ({expr})" if by else f"sum({expr})", _unit(expr))


def _counter_range(
    func: str, metric: MetricSpec, window: str, series: str | None, labels: dict[str, str]
) -> str:
    if metric.kind == "gauge":
        raise TypeError(f"{func}() of gauge {metric.name}: only counters and histogram series")
    if metric.kind == "histogram" and series is None:
        raise TypeError(f"{func}() of histogram {metric.name} needs a series (bucket/sum/count)")
    return f"{func}({sel(metric, series, **labels)}[{window}])"


def rate(
    metric: MetricSpec,
    *,
    by: Iterable[str] | None = None,
    window: str = RATE_INTERVAL,
    series: str | None = None,
    **labels: str,
) -> Expr:
    """`rate()` of a counter, summed `by` the given labels unless `by` is None."""
    expr = _counter_range("rate", metric, window, series, labels)
    return Expr(expr) if by is None else Expr(sum_by(expr, by))


def increase(
    metric: MetricSpec,
    *,
    by: Iterable[str] | None = None,
    window: str = RATE_INTERVAL,
    series: str | None = None,
    **labels: str,
) -> Expr:
    """`increase()` of a counter, summed `by` the given labels unless `by` is None."""
    expr = _counter_range("increase", metric, window, series, labels)
    return Expr(expr) if by is None else Expr(sum_by(expr, by))


def histogram_quantile(
    q: float,
    metric: MetricSpec,
    *,
    by: Iterable[str] = (),
    window: str = RATE_INTERVAL,
    **labels: str,
) -> Expr:
    """The q-quantile of a histogram over `window`, aggregated keeping `by` (and `le`)."""
    if metric.kind != "histogram":
        raise TypeError(f"histogram_quantile of {metric.kind} {metric.name}")
    inner = rate(metric, series=metric.bucket, window=window, by=("le", *by), **labels)
    return Expr(f"histogram_quantile({q:g}, {inner})", metric.unit)


def across_replicas(expr: str, how: str = "max") -> Expr:
    """One value for the job: `expr` aggregated over the labels that tell replicas apart
    (`instance`, `pod`), keeping every other label (a feature, a version).

    `max` where the replicas hold the same value (the evaluation they all follow in the registry)
    or where the worst one matters; `sum` for what adds up (requests in flight).

    >>> across_replicas('model_rmse_score{job="bike-api"}')
    'max without (instance, pod) (model_rmse_score{job="bike-api"})'
    """
    return Expr(f"{how} without ({', '.join(REPLICA_LABELS)}) ({expr})", _unit(expr))


def per_replica(expr: str, how: str = "max") -> Expr:
    """One series per replica, on purpose: what each replica shows by itself (its version, its
    loaded model, its own queue), labelled by what names a replica: its namespace (Kubernetes:
    Alertmanager routes on it), job, instance and pod.

    >>> per_replica('up{job="bike-api"}')
    'max by (namespace, job, instance, pod) (up{job="bike-api"})'
    """
    by = ", ".join(("namespace", "job", *REPLICA_LABELS))
    return Expr(f"{how} by ({by}) ({expr})", _unit(expr))


def avg_by(expr: str, by: Iterable[str] = ()) -> Expr:
    by = tuple(by)
    return Expr(f"avg by ({', '.join(by)}) ({expr})" if by else f"avg({expr})", _unit(expr))


def predict_linear(metric: MetricSpec, *, window: str, seconds: float, **labels: str) -> Expr:
    """Where a gauge will be `seconds` from now, extrapolating its trend over `window`."""
    if metric.kind != "gauge":
        raise TypeError(f"predict_linear() of {metric.kind} {metric.name}: only gauges")
    return Expr(f"predict_linear({sel(metric, **labels)}[{window}], {seconds:g})", metric.unit)


def _timestamp(func: str, metric: MetricSpec) -> None:
    if metric.kind != "gauge" or metric.unit != "timestamp_seconds":
        raise TypeError(f"{func}() of {metric.name}: only Unix-timestamp gauges")


def latest(metric: MetricSpec, lookback: str, **labels: str) -> Expr:
    """The highest value of a Unix-timestamp gauge over `lookback`: survives a restart that
    resets the gauge to 0."""
    _timestamp("latest", metric)
    return Expr(f"max_over_time({sel(metric, **labels)}[{lookback}])", "timestamp_seconds")


def _since(func: str, metric: MetricSpec, lookback: str | None, labels: dict[str, str]) -> Expr:
    _timestamp(func, metric)
    return latest(metric, lookback, **labels) if lookback else sel(metric, **labels)


def age(metric: MetricSpec, lookback: str | None = None, **labels: str) -> Expr:
    """Seconds since a Unix-timestamp gauge; with `lookback`, since its latest value over that
    window (see `latest`)."""
    return Expr(f"time() - {_since('age', metric, lookback, labels)}", "seconds")


def newest_age(metric: MetricSpec, lookback: str | None = None, **labels: str) -> Expr:
    """`age`, since the newest of the job's replicas' values: one value for the job (see
    `across_replicas`)."""
    return Expr(
        f"time() - {across_replicas(_since('newest_age', metric, lookback, labels))}", "seconds"
    )


def label_values(metric: MetricSpec, label: str, **labels: str) -> str:
    """A Grafana variable query: every value of `label` on the metric's series."""
    if label not in (*metric.labels, "job", "instance"):
        raise ValueError(f"{metric.name} has no label {label}")
    return f"label_values({sel(metric, **labels)}, {label})"
