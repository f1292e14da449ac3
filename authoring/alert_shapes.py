"""Alerts of the common shapes in a few lines: a gauge past a configured limit, a ratio over a
window. Each helper builds the rule and its promtool test from one example, so the author states
the metric, the limit, the text and a realistic value; the build renders the expected text and
pins the `for:` boundary.

Example:
    >>> from api.metrics import MODEL_RMSE
    >>> rule = gauge_alert(
    ...     "ModelErrorHigh", MODEL_RMSE, ">", 100, example=(40, 150),
    ...     for_="1m", severity="warning", summary="Model error is too high",
    ...     description="RMSE is {{ $value }}", replicas="max",
    ... )
    >>> rule.expr
    'max without (instance, pod) (model_rmse_score{job="bike-api"}) > 100'
    >>> rule.tests[0].series[0].values
    '40 40 150x6'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from api.metrics import MetricSpec
from api.retraining import REASON_LABEL, Reason
from authoring import config
from authoring.profiles import COMPOSE
from authoring.promql import across_replicas, per_replica, sel
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

__all__ = ["gauge_alert", "ratio_alert", "replica_targets", "retraining_reason", "scrape_target"]

# The example holds its normal value for two evaluations, then the abnormal one: the onset is
# the third evaluation, and the series runs a few minutes past the `for:` boundary.
_NORMAL_STEPS = 2
_MARGIN_STEPS = 5
# How a gauge of a replicated job is compared: `each` replica on its own (one alert per replica:
# its own model, its own queue), or one value across replicas, their `max` or `min` (the
# evaluation every replica follows in the registry: the same value once they caught up).
Replicas = Literal["each", "max", "min"]


def retraining_reason(reason: Reason) -> dict[str, str]:
    """The label that tells the API's webhook why an alert may call for retraining."""
    return {REASON_LABEL: reason}


def scrape_target(job: str) -> dict[str, str]:
    """The labels Prometheus gives a target of `job` in the compose stack (job and instance):
    what a test series carries."""
    return {"job": job, "instance": COMPOSE.targets()[job]}


def replica_targets(job: str, replicas: int = 3) -> tuple[dict[str, str], ...]:
    """The labels of `replicas` targets of `job`, as the Kubernetes target's pods are scraped
    (job and pod IP): what the series of a test with several replicas carry.

    >>> [t["instance"] for t in replica_targets("bike-api", 2)]
    ['10.0.0.1:8080', '10.0.0.2:8080']
    """
    return tuple({"job": job, "instance": f"10.0.0.{n}:8080"} for n in range(1, replicas + 1))


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
    replicas: Replicas | None = None,
) -> AlertingRule:
    """`metric{job} op limit` held for `for_`, tested with `example = (normal, abnormal)`: the
    gauge sits at `normal`, then moves to `abnormal`, and the alert must fire exactly `for_`
    later with `abnormal` as its `$value`.

    `replicas` says how the replicas of a replicated job combine (see `Replicas`); None reads
    the gauge as it is, for a job with one target per subject (a host's exporter)."""
    normal, abnormal = example
    target = scrape_target(job)
    query = sel(metric, job=job)
    fired = target
    if replicas == "each":
        query = per_replica(query)
    elif replicas is not None:
        query = across_replicas(query, replicas)
        fired = {"job": job}
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
        fires=(Fires(fired, abnormal),),
    )
    return AlertingRule(
        name=name,
        threshold=Threshold(query, op, limit),
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
