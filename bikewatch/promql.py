"""PromQL query helpers shared by dashboards and rules, built on metric objects, never names.

Every helper takes a `MetricSpec` (from `api.metrics` or `bikewatch.node_exporter`) and returns
PromQL text, so a metric name is typed once, where the metric is defined.

Example:
    >>> from api.metrics import API_REQUESTS
    >>> rate(API_REQUESTS, by=("endpoint",), job="bike-api")
    'sum by (endpoint) (rate(api_requests_total{job="bike-api"}[$__rate_interval]))'
"""

from __future__ import annotations

from collections.abc import Iterable

from api.metrics import MetricSpec

__all__ = [
    "RATE_INTERVAL",
    "age",
    "avg_by",
    "histogram_quantile",
    "increase",
    "label_values",
    "matchers",
    "predict_linear",
    "rate",
    "sel",
    "sum_by",
]

# Grafana's own interval: at least four scrapes, so rate() never sees fewer than two samples.
RATE_INTERVAL = "$__rate_interval"


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


def sel(metric: MetricSpec, series: str | None = None, **labels: str) -> str:
    """A selector for a metric (or one of a histogram's series: `metric.bucket`)."""
    name = series if series is not None else metric.name
    if name not in metric.series_names:
        raise ValueError(f"{name} is not a series of {metric.name}")
    return name + matchers(labels)


def sum_by(expr: str, by: Iterable[str] = ()) -> str:
    by = tuple(by)
    return f"sum by ({', '.join(by)}) ({expr})" if by else f"sum({expr})"


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
) -> str:
    """`rate()` of a counter, summed `by` the given labels unless `by` is None."""
    expr = _counter_range("rate", metric, window, series, labels)
    return expr if by is None else sum_by(expr, by)


def increase(
    metric: MetricSpec,
    *,
    by: Iterable[str] | None = None,
    window: str = RATE_INTERVAL,
    series: str | None = None,
    **labels: str,
) -> str:
    """`increase()` of a counter, summed `by` the given labels unless `by` is None."""
    expr = _counter_range("increase", metric, window, series, labels)
    return expr if by is None else sum_by(expr, by)


def histogram_quantile(
    q: float,
    metric: MetricSpec,
    *,
    by: Iterable[str] = (),
    window: str = RATE_INTERVAL,
    **labels: str,
) -> str:
    """The q-quantile of a histogram over `window`, aggregated keeping `by` (and `le`)."""
    if metric.kind != "histogram":
        raise TypeError(f"histogram_quantile of {metric.kind} {metric.name}")
    inner = rate(metric, series=metric.bucket, window=window, by=("le", *by), **labels)
    return f"histogram_quantile({q:g}, {inner})"


def avg_by(expr: str, by: Iterable[str] = ()) -> str:
    by = tuple(by)
    return f"avg by ({', '.join(by)}) ({expr})" if by else f"avg({expr})"


def predict_linear(metric: MetricSpec, *, window: str, seconds: float, **labels: str) -> str:
    """Where a gauge will be `seconds` from now, extrapolating its trend over `window`."""
    if metric.kind != "gauge":
        raise TypeError(f"predict_linear() of {metric.kind} {metric.name}: only gauges")
    return f"predict_linear({sel(metric, **labels)}[{window}], {seconds:g})"


def latest(metric: MetricSpec, lookback: str, **labels: str) -> str:
    """The highest value of a Unix-timestamp gauge over `lookback`: survives a restart that
    resets the gauge to 0."""
    if metric.kind != "gauge" or not metric.name.endswith("_timestamp_seconds"):
        raise TypeError(f"latest() of {metric.name}: only `*_timestamp_seconds` gauges")
    return f"max_over_time({sel(metric, **labels)}[{lookback}])"


def age(metric: MetricSpec, lookback: str | None = None, **labels: str) -> str:
    """Seconds since a Unix-timestamp gauge (`*_timestamp_seconds`); with `lookback`, since its
    latest value over that window (see `latest`)."""
    if metric.kind != "gauge" or not metric.name.endswith("_timestamp_seconds"):
        raise TypeError(f"age() of {metric.name}: only `*_timestamp_seconds` gauges")
    return f"time() - {latest(metric, lookback, **labels) if lookback else sel(metric, **labels)}"


def label_values(metric: MetricSpec, label: str, **labels: str) -> str:
    """A Grafana variable query: every value of `label` on the metric's series."""
    if label not in (*metric.labels, "job", "instance"):
        raise ValueError(f"{metric.name} has no label {label}")
    return f"label_values({sel(metric, **labels)}, {label})"
