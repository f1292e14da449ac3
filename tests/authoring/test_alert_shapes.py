"""Alert helpers: one call gives the rule, its threshold and a test built from one example."""

from __future__ import annotations

from api.metrics import MODEL_LOADED, MODEL_RMSE
from api.retraining import REASON_LABEL
from authoring import config
from authoring.alert_shapes import gauge_alert, ratio_alert, retraining_reason, scrape_target
from authoring.profiles import COMPOSE
from authoring.rules_dsl import RecordingRule, Series, Threshold


def test_gauge_alert_builds_the_rule_and_an_example_test() -> None:
    rule = gauge_alert(
        "CaseRmse",
        MODEL_RMSE,
        ">",
        100,
        example=(40, 150),
        for_="2m",
        severity="warning",
        summary="s {{ $value }}",
        description="d",
        labels=retraining_reason("model_quality"),
    )
    assert rule.threshold == Threshold(f'{MODEL_RMSE.name}{{job="{config.API_JOB}"}}', ">", 100)
    assert rule.labels == {REASON_LABEL: "model_quality"}
    (test,) = rule.tests
    (series,) = test.series
    target = {"job": config.API_JOB, "instance": COMPOSE.api}
    assert series.values == "40 40 150x7"  # normal twice, then past the limit beyond for: 2m
    assert "instance=" in series.series
    (fires,) = test.fires
    assert (dict(fires.labels), fires.value) == (target, 150)
    assert test.onset is None  # derived by the build from the series


def test_a_gauge_of_another_job_is_tested_on_that_jobs_target() -> None:
    rule = gauge_alert(
        "CaseDown", MODEL_LOADED, "==", 0, example=(1, 0), job=config.NODE_JOB,
        for_="1m", severity="critical", summary="{{ $labels.instance }}", description="d",
    )  # fmt: skip
    assert dict(rule.tests[0].fires[0].labels) == scrape_target(config.NODE_JOB)
    assert scrape_target(config.NODE_JOB)["instance"] == COMPOSE.node_exporter


def test_ratio_alert_reads_the_recorded_ratio_and_keeps_the_example() -> None:
    ratio = RecordingRule("job:x_5xx:ratio_rate5m", "vector(0)", unit="ratio")
    series = (Series('api_requests_total{status_code="500"}', "0+6x20"),)
    rule = ratio_alert(
        "CaseErrors", ratio, ">", 0.05, example=(series, 0.1),
        for_="5m", severity="critical", summary="{{ $value }}", description="d",
    )  # fmt: skip
    assert rule.expr == 'job:x_5xx:ratio_rate5m{job="bike-api"} > 0.05'
    assert rule.threshold is not None and rule.threshold.query_unit == "ratio"
    assert rule.tests[0].series == series
    assert rule.tests[0].fires[0].value == 0.1
