"""When an alert test's expression first holds (its onset), derived from the series where plain.

Two shapes are derived, the rest must say `onset=`:
- a threshold on one gauge (`metric{...} > 100`, or its max/min/sum/avg across or per replicas)
  whose one series the test gives: the first sample that satisfies the comparison;
- series of counters that grow at a constant rate from the start (`0+60x20`): rates are constant,
  so the expression holds at the first evaluation whose window holds two samples.
promtool then checks the not-yet-firing and firing cases built from the onset.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import promql_parser as pp

from authoring.rules_dsl import AlertingRule, AlertTest, parse_duration
from generator import promcheck
from generator.series_notation import constant_rate, expand

__all__ = ["onset_seconds"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


# Aggregations that return a lone series' own value.
_ONE_SERIES_AGGREGATES = frozenset({"max", "min", "sum", "avg"})


def _gauge_series(alert: AlertingRule, test: AlertTest) -> str | None:
    """The values of the one series the alert's gauge threshold reads, when that is its shape."""
    threshold = alert.threshold
    if threshold is None:
        return None
    node = promcheck.parse(threshold.query)
    # One gauge's value across replicas, or per replica: with one series, the series itself.
    if isinstance(node, pp.AggregateExpr) and str(node.op) in _ONE_SERIES_AGGREGATES:
        node = node.expr
    if not isinstance(node, pp.VectorSelector):
        return None
    names = promcheck.metric_names(threshold.query)
    mine = [s for s in test.series if promcheck.metric_names(s.series) == names]
    return mine[0].values if len(mine) == 1 else None


def _gauge_onset(alert: AlertingRule, test: AlertTest, values: str) -> int | None:
    assert alert.threshold is not None
    compare = _COMPARE[alert.threshold.op]
    step = parse_duration(test.interval)
    for index, value in enumerate(expand(values)):
        if value is not None and compare(value, alert.threshold.value):
            return index * step
    return None


def onset_seconds(alert: AlertingRule, test: AlertTest) -> int | None:
    """The test's onset in seconds: stated, or derived from the series; None when neither."""
    if test.onset is not None:
        return parse_duration(test.onset)
    gauge = _gauge_series(alert, test)
    if gauge is not None:
        # None when the gauge never crosses: the test could not fire.
        return _gauge_onset(alert, test, gauge)
    if test.series and all(constant_rate(s.values) for s in test.series):
        # Rates (of the expression or of the recording rules it reads) need two samples.
        return parse_duration(test.interval)
    return None
