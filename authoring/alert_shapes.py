"""Alerts of the common shapes in a few lines: a gauge past a configured limit, a ratio over a
window. Each helper builds the rule and its promtool test from one example, so the author states
the metric, the limit, the text and a realistic value; the build renders the expected text and
pins the `for:` boundary.

Example:
    >>> from api.metrics import MODEL_RMSE
    >>> rule = gauge_alert(
    ...     "ModelErrorHigh", MODEL_RMSE, ">", 100, example=(40, 150),
    ...     for_="1m", severity="warning", summary="Model error is too high",
    ...     description="RMSE is {{ $value }} on {{ $labels.instance }}",
    ... )
    >>> rule.expr
    'model_rmse_score{job="bike-api"} > 100'
    >>> rule.tests[0].series[0].values
    '40 40 150x8'
"""

from __future__ import annotations

from collections.abc import Mapping

from api.metrics import MetricSpec
from api.retraining import REASON_LABEL, Reason
from authoring import config
from authoring.profiles import COMPOSE
from authoring.promql import sel
from authoring.rules_dsl import (
    PROMETHEUS,
    AlertingRule,
    AlertTest,
    Backend,
    Fires,
    Op,
    RecordingRule,
    Series,
    Severity,
    Threshold,
    format_number,
    parse_duration,
)

__all__ = ["gauge_alert", "ratio_alert", "retraining_reason", "scrape_target"]

# The example holds its normal value for two evaluations, then the abnormal one: the onset is
# the third evaluation, and the series runs a few minutes past the `for:` boundary.
_NORMAL_STEPS = 2
_MARGIN_STEPS = 5


def retraining_reason(reason: Reason) -> dict[str, str]:
    """The label that tells the API's webhook why an alert may call for retraining."""
    return {REASON_LABEL: reason}


def scrape_target(job: str) -> dict[str, str]:
    """The labels Prometheus gives a target of `job` in the compose stack (job and instance):
    what a test series carries."""
    return {"job": job, "instance": COMPOSE.targets()[job]}


def gauge_alert(
    name: str,
    metric: MetricSpec,
    op: Op,
    limit: float,
    *,
    example: tuple[float, float],
    for_: str,
    severity: Severity,
    summary: str,
    description: str,
    job: str = config.API_JOB,
    labels: Mapping[str, str] | None = None,
    backends: tuple[Backend, ...] = PROMETHEUS,
    runbook: str = "",
    tests: tuple[AlertTest, ...] = (),
    inhibits: Severity | None = None,
) -> AlertingRule:
    """`metric{job} op limit` held for `for_`, tested with `example = (normal, abnormal)`: the
    gauge sits at `normal`, then moves to `abnormal`, and the alert must fire exactly `for_`
    later with `abnormal` as its `$value`."""
    normal, abnormal = example
    target = scrape_target(job)
    steps = parse_duration(for_) // 60 + _MARGIN_STEPS
    values = " ".join(
        [format_number(normal)] * _NORMAL_STEPS + [f"{format_number(abnormal)}x{steps}"]
    )
    example_test = AlertTest(
        name=(
            f"{metric.name} going from {format_number(normal)} to {format_number(abnormal)} "
            f"fires {for_} later"
        ),
        series=(Series(sel(metric, **target), values),),
        fires=(Fires(target, abnormal),),
    )
    return AlertingRule(
        name=name,
        threshold=Threshold(sel(metric, job=job), op, limit),
        for_=for_,
        severity=severity,
        summary=summary,
        description=description,
        labels=dict(labels or {}),
        backends=backends,
        runbook=runbook,
        tests=(example_test, *tests),
        inhibits=inhibits,
    )


def ratio_alert(
    name: str,
    ratio: RecordingRule,
    op: Op,
    limit: float,
    *,
    example: tuple[tuple[Series, ...], float],
    for_: str,
    severity: Severity,
    summary: str,
    description: str,
    job: str = config.API_JOB,
    labels: Mapping[str, str] | None = None,
    runbook: str = "",
    tests: tuple[AlertTest, ...] = (),
) -> AlertingRule:
    """A recorded ratio over a window past `limit`, tested with `example = (counter series,
    ratio they make)`: counters growing at constant rates, so the ratio holds from the first
    evaluation whose window has two samples."""
    series, value = example
    example_test = AlertTest(
        name=f"{ratio.record} at {format_number(value)} fires {for_} later",
        series=series,
        fires=(Fires({"job": job}, value),),
    )
    return AlertingRule(
        name=name,
        threshold=Threshold(ratio.sel(job=job), op, limit),
        for_=for_,
        severity=severity,
        summary=summary,
        description=description,
        labels=dict(labels or {}),
        runbook=runbook,
        tests=(example_test, *tests),
    )
